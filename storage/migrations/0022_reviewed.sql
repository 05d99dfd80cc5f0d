-- The team marks each submission reviewed (the workbench, one at a time or a selection), so
-- that new ones stand out; who and when are in the audit trail.
ALTER TABLE submissions ADD COLUMN reviewed_at TEXT;
CREATE INDEX submissions_unreviewed ON submissions (tambon_id, reviewed_at);
