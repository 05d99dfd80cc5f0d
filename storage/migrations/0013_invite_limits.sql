-- Join codes that end: an expiry (NULL: never, the codes made before this migration) and an
-- optional number of uses, counted when a person who joined with the code consents.
ALTER TABLE invites ADD COLUMN expires_at TEXT;
ALTER TABLE invites ADD COLUMN max_uses INTEGER;
ALTER TABLE invites ADD COLUMN uses INTEGER NOT NULL DEFAULT 0;
