-- Wrong guesses per person and kind (a join code, a hearing hall's code), so that guessing can
-- be locked out for a while; kept in the store, so a lockout holds across restarts and processes.
CREATE TABLE attempts (
    kind         TEXT NOT NULL,
    who          TEXT NOT NULL,
    failures     INTEGER NOT NULL,
    first_at     TEXT NOT NULL,
    locked_until TEXT,
    PRIMARY KEY (kind, who)
);
