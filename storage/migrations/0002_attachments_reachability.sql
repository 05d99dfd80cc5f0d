-- Photos and locations sent with a submission (Telegram, LINE), and members a platform says
-- cannot be reached (blocked the bot, unfollowed).

CREATE TABLE submission_attachments (
    id            INTEGER PRIMARY KEY,
    submission_id INTEGER NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
    media         TEXT NOT NULL CHECK (media IN ('photo', 'location')),
    file_id       TEXT,
    latitude      REAL,
    longitude     REAL,
    CHECK (media != 'location' OR (latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180))
);
CREATE INDEX submission_attachments_submission ON submission_attachments (submission_id);

ALTER TABLE members ADD COLUMN unreachable_at TEXT;
