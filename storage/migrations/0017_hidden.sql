-- A submission the team hid (abusive, or filed by mistake): it stays stored, its author still
-- sees it, marked; summaries, reports, exports, problem groups and polls leave it out.
ALTER TABLE submissions ADD COLUMN hidden_at TEXT;
ALTER TABLE submissions ADD COLUMN hidden_reason TEXT;
