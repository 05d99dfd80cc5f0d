-- When the press that cast or last changed a ballot was made, as the platform tells it (LINE's
-- event timestamp, ISO 8601 UTC); NULL when the platform does not say (Telegram numbers its
-- updates in order instead). LINE may deliver two presses of one person out of order (two
-- webhook calls a few milliseconds apart): a press older than the one the ballot holds does not
-- change it.
ALTER TABLE ballots ADD COLUMN pressed_at TEXT;
