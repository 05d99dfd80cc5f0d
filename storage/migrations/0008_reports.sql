-- What a team member saw in their last /summary, so the next one can say what changed.
CREATE TABLE summary_views (
    member_id INTEGER PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
    at        TEXT NOT NULL,
    snapshot  TEXT NOT NULL  -- JSON: counts, villages heard, top groups
);

-- Unguessable, expiring links to a tambon's live report (web listener). Only a hash of the
-- token is kept, so the database alone does not open any report.
CREATE TABLE report_links (
    token_hash TEXT PRIMARY KEY,
    tambon_id  INTEGER NOT NULL REFERENCES tambons (id) ON DELETE CASCADE,
    member_id  INTEGER REFERENCES members (id) ON DELETE SET NULL,
    locale     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
