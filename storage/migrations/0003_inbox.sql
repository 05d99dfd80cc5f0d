-- Webhook events kept as received until handled: a webhook is answered as soon as its events
-- are here, and events still here at start-up are handled then, so none is lost in between.

CREATE TABLE inbox (
    channel     TEXT NOT NULL,
    event_key   TEXT NOT NULL,
    payload     TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (channel, event_key)
);
