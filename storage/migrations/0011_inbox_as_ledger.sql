-- A handled update stays in the inbox, marked done, until it is pruned with the ledger: marking it
-- is the same one statement that takes it, where deleting it and recording its key in
-- processed_updates were two. Redeliveries are recognised by either table.
ALTER TABLE inbox ADD COLUMN done_at TEXT;
DROP INDEX inbox_by_sender;
CREATE INDEX inbox_waiting ON inbox (channel, sender, seq) WHERE done_at IS NULL;
CREATE INDEX inbox_done_at ON inbox (done_at);
