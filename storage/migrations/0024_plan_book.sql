-- The draft plan goes back to the people (the seed's step 4): the tambon's direction, the
-- public comment on the draft by chat, the tambon forum's approval, amendments after it.

-- Identity, vision and mission of a plan year, and its development strategies, in order.
CREATE TABLE plan_directions (
    tambon_id  INTEGER NOT NULL REFERENCES tambons (id) ON DELETE CASCADE,
    year_be    INTEGER NOT NULL,
    identity   TEXT,
    vision     TEXT,
    mission    TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tambon_id, year_be)
);
CREATE TABLE plan_strategies (
    id        INTEGER PRIMARY KEY,
    tambon_id INTEGER NOT NULL REFERENCES tambons (id) ON DELETE CASCADE,
    year_be   INTEGER NOT NULL,
    position  INTEGER NOT NULL CHECK (position > 0),
    title     TEXT NOT NULL CHECK (length(trim(title)) > 0),
    UNIQUE (tambon_id, year_be, position)
);
ALTER TABLE plan_items ADD COLUMN strategy_id INTEGER REFERENCES plan_strategies (id) ON DELETE SET NULL;

-- A plan year's window of public comment on the draft (one at a time; reopened as a new round).
CREATE TABLE comment_windows (
    tambon_id INTEGER NOT NULL REFERENCES tambons (id) ON DELETE CASCADE,
    year_be   INTEGER NOT NULL,
    round     INTEGER NOT NULL DEFAULT 1,
    opened_at TEXT NOT NULL,
    closes_at TEXT NOT NULL,
    closed_at TEXT,
    PRIMARY KEY (tambon_id, year_be)
);

-- One person's response to one item of the draft: agree or disagree, and a comment (their
-- words, tagged like a submission). Changeable while the window is open; gone with /forget.
CREATE TABLE plan_responses (
    item_id    INTEGER NOT NULL REFERENCES plan_items (id) ON DELETE CASCADE,
    member_id  INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    vote       TEXT CHECK (vote IN ('agree', 'disagree')),
    comment    TEXT,
    categories TEXT,
    at         TEXT NOT NULL,
    PRIMARY KEY (item_id, member_id)
);

-- The tambon forum's decision on the plan of a year.
CREATE TABLE plan_approvals (
    tambon_id   INTEGER NOT NULL REFERENCES tambons (id) ON DELETE CASCADE,
    year_be     INTEGER NOT NULL,
    decided_on  TEXT NOT NULL,
    place       TEXT,
    present     INTEGER CHECK (present >= 0),
    result      TEXT NOT NULL CHECK (result IN ('approved', 'approved_with_changes')),
    changes     TEXT,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (tambon_id, year_be)
);

-- A change to an item of an approved plan: when, why, by whom.
CREATE TABLE plan_amendments (
    id      INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES plan_items (id) ON DELETE CASCADE,
    at      TEXT NOT NULL,
    reason  TEXT NOT NULL,
    who     TEXT NOT NULL
);
CREATE INDEX plan_amendments_item ON plan_amendments (item_id, id);
