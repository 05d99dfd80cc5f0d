-- Inbox events are handled in the order they arrived: an explicit sequence number, the same in
-- every backend (SQLite's rowid has no PostgreSQL equivalent).
ALTER TABLE inbox ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
