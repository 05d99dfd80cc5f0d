-- The team's workbench (the web pages under /team/): one-time sign-in links asked for in chat
-- (/web) or printed by the operator (tambon-bot web-link), and the sessions they start. Only
-- the hashes of their tokens are kept; a session's CSRF token is random per session.
CREATE TABLE web_links (
    id         INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    member_id  INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    tambon_id  INTEGER NOT NULL REFERENCES tambons (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);
CREATE TABLE web_sessions (
    id           INTEGER PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    csrf         TEXT NOT NULL,
    member_id    INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    tambon_id    INTEGER NOT NULL REFERENCES tambons (id) ON DELETE CASCADE,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    ended_at     TEXT,
    agent        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX web_sessions_by_member ON web_sessions (member_id, ended_at);
