-- A member the team removed: the row stays (their ballots keep closed polls' counts exact, their
-- submissions stay, anonymous as always), without consent, so they are a stranger to the bot
-- until they join again with a new code.
ALTER TABLE members ADD COLUMN removed_at TEXT;
