-- Priority polls for public hearings: one ballot per person and poll (the unique constraint
-- enforces it under any concurrency), every change logged, paper ballots kept apart.

CREATE TABLE polls (
    id         INTEGER PRIMARY KEY,
    tambon_id  INTEGER NOT NULL REFERENCES tambons (id) ON DELETE CASCADE,
    title      TEXT NOT NULL,
    method     TEXT NOT NULL CHECK (method IN ('approval', 'borda')),
    choose     INTEGER NOT NULL CHECK (choose >= 1),
    status     TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'open', 'closed')),
    created_at TEXT NOT NULL,
    opened_at  TEXT,
    closes_at  TEXT,
    closed_at  TEXT
);
CREATE INDEX polls_tambon ON polls (tambon_id, status);

CREATE TABLE poll_options (
    poll_id  INTEGER NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    position INTEGER NOT NULL CHECK (position >= 1),
    text     TEXT NOT NULL,
    group_id INTEGER REFERENCES problem_groups (id) ON DELETE SET NULL,
    PRIMARY KEY (poll_id, position)
);

CREATE TABLE ballots (
    id          INTEGER PRIMARY KEY,
    poll_id     INTEGER NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    member_id   INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    village_moo INTEGER,
    choices     TEXT NOT NULL,  -- JSON list of option positions, in rank order
    cast_at     TEXT NOT NULL,
    changed_at  TEXT NOT NULL,
    UNIQUE (poll_id, member_id)
);

CREATE TABLE ballot_log (
    id        INTEGER PRIMARY KEY,
    poll_id   INTEGER NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    ballot_id INTEGER NOT NULL,
    pseudonym TEXT NOT NULL,
    choices   TEXT NOT NULL,
    action    TEXT NOT NULL CHECK (action IN ('cast', 'change')),
    at        TEXT NOT NULL
);

CREATE TABLE paper_ballots (
    id         INTEGER PRIMARY KEY,
    poll_id    INTEGER NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    choices    TEXT NOT NULL,  -- JSON list of option positions, in rank order
    count      INTEGER NOT NULL CHECK (count >= 1),
    entered_by TEXT NOT NULL,  -- a team member's pseudonym, or who ran the CLI
    entered_at TEXT NOT NULL
);
