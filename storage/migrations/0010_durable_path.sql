-- The durable path in and out (issue "Nothing lost, nothing leaked").
--
-- inbox: every platform update is kept here before the platform is told it arrived, and is
-- removed in the same transaction as its effects. ``seq`` is a real identity now (PostgreSQL's
-- max(seq)+1 was not unique under concurrent webhooks); ``sender`` lets each person's events be
-- handled in order while different people's run side by side; a failing event is retried after
-- ``next_at`` and moves to dead_letters after a few attempts.
CREATE TABLE inbox_v2 (
    seq         INTEGER PRIMARY KEY,
    channel     TEXT NOT NULL,
    event_key   TEXT NOT NULL,
    sender      TEXT NOT NULL DEFAULT '',
    payload     TEXT NOT NULL,
    received_at TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     TEXT NOT NULL DEFAULT '',
    last_error  TEXT,
    UNIQUE (channel, event_key)
);
INSERT INTO inbox_v2 (channel, event_key, payload, received_at)
    SELECT channel, event_key, payload, received_at FROM inbox ORDER BY seq, received_at;
DROP TABLE inbox;
ALTER TABLE inbox_v2 RENAME TO inbox;
CREATE INDEX inbox_by_sender ON inbox (channel, sender, seq);

-- Events that failed to be handled again and again: kept for the administrator
-- (``tambon-bot inbox dead``), no longer blocking that person's later messages.
CREATE TABLE dead_letters (
    id          INTEGER PRIMARY KEY,
    channel     TEXT NOT NULL,
    event_key   TEXT NOT NULL,
    sender      TEXT NOT NULL,
    payload     TEXT NOT NULL,
    received_at TEXT NOT NULL,
    failed_at   TEXT NOT NULL,
    attempts    INTEGER NOT NULL,
    last_error  TEXT
);

-- outbox: the replies an update produced, written in the same transaction as its effects and
-- delivered per recipient in order. ``state`` is pending, sent, failed (refused for good) or
-- dropped (the person cannot be reached); a pending row is ``leased`` by the process sending it.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    channel     TEXT NOT NULL,
    recipient   TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending',
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     TEXT NOT NULL DEFAULT '',
    leased_until TEXT NOT NULL DEFAULT '',
    done_at     TEXT,
    last_error  TEXT
);
CREATE INDEX outbox_pending ON outbox (state, channel, recipient, id);
CREATE INDEX outbox_done ON outbox (done_at);

-- The redelivery ledger is pruned by age.
CREATE INDEX processed_updates_age ON processed_updates (received_at);
