-- Report links get an id to name them by (``report links``, ``report revoke ID``, /links), a
-- revocation (removing or demoting a team member ends their links), and the last time an opening
-- was recorded (one audit row per link a minute, however often it is fetched).
CREATE TABLE report_links_v2 (
    id         INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    tambon_id  INTEGER NOT NULL REFERENCES tambons (id) ON DELETE CASCADE,
    member_id  INTEGER REFERENCES members (id) ON DELETE SET NULL,
    locale     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT,
    opened_at  TEXT
);
INSERT INTO report_links_v2 (token_hash, tambon_id, member_id, locale, created_at, expires_at)
    SELECT token_hash, tambon_id, member_id, locale, created_at, expires_at FROM report_links
    ORDER BY created_at;
DROP TABLE report_links;
ALTER TABLE report_links_v2 RENAME TO report_links;
CREATE INDEX report_links_by_tambon ON report_links (tambon_id, expires_at);
