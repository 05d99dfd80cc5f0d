-- Polls for the people in the hall only: a presence code shown on the hall's screen (as a QR
-- image), which each voter sends to the bot before voting.
ALTER TABLE polls ADD COLUMN presence_code TEXT;

CREATE TABLE poll_presence (
    poll_id   INTEGER NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    at        TEXT NOT NULL,
    PRIMARY KEY (poll_id, member_id)
);
