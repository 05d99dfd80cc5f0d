-- The plan's second half (the seed's steps 3-5): items of the tambon plan made from problem
-- groups, followed to done. Everyone who reported a linked problem is told when the item enters
-- the plan, is funded, is done or dropped, and asked, when it is done, whether it really is.
CREATE TABLE plan_items (
    id          INTEGER PRIMARY KEY,
    tambon_id   INTEGER NOT NULL REFERENCES tambons (id) ON DELETE CASCADE,
    year_be     INTEGER NOT NULL,
    title       TEXT NOT NULL CHECK (length(trim(title)) > 0),
    objective   TEXT,
    indicator   TEXT,
    result      TEXT,
    actor       TEXT CHECK (actor IN ('community', 'joint', 'external')),
    source      TEXT,
    budget      INTEGER CHECK (budget >= 0),
    responsible TEXT,
    due         TEXT,
    status      TEXT NOT NULL CHECK (status IN ('proposed', 'in_plan', 'submitted', 'funded',
                                                'in_progress', 'done', 'dropped')),
    progress    INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    done_round  INTEGER NOT NULL DEFAULT 0,
    carried     INTEGER NOT NULL DEFAULT 0,  -- years it was carried over, not yet met
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX plan_items_tambon ON plan_items (tambon_id, id);

CREATE TABLE plan_item_groups (
    item_id  INTEGER NOT NULL REFERENCES plan_items (id) ON DELETE CASCADE,
    group_id INTEGER NOT NULL REFERENCES problem_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (item_id, group_id)
);

-- Each change of an item, dated, with the team's note.
CREATE TABLE plan_updates (
    id       INTEGER PRIMARY KEY,
    item_id  INTEGER NOT NULL REFERENCES plan_items (id) ON DELETE CASCADE,
    at       TEXT NOT NULL,
    status   TEXT NOT NULL,
    progress INTEGER NOT NULL,
    note     TEXT,
    who      TEXT NOT NULL
);
CREATE INDEX plan_updates_item ON plan_updates (item_id, id);

-- Who is to be told of which change: one row per item, person, event and round (an item done a
-- second time after it was reopened is a new round), so nobody is told twice. queued_at: the
-- notice is in the outbox (written in the same transaction).
CREATE TABLE plan_notices (
    item_id    INTEGER NOT NULL REFERENCES plan_items (id) ON DELETE CASCADE,
    member_id  INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    event      TEXT NOT NULL,
    round      INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    queued_at  TEXT,
    PRIMARY KEY (item_id, member_id, event, round)
);
CREATE INDEX plan_notices_waiting ON plan_notices (created_at) WHERE queued_at IS NULL;

-- A reporter's answer to "is it really done?" for one round; the latest answer counts.
CREATE TABLE plan_verdicts (
    item_id   INTEGER NOT NULL REFERENCES plan_items (id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    round     INTEGER NOT NULL,
    verdict   TEXT NOT NULL CHECK (verdict IN ('yes', 'partly', 'no')),
    at        TEXT NOT NULL,
    photo     TEXT,  -- the platform's file id of a photo sent with the answer (never downloaded)
    PRIMARY KEY (item_id, member_id, round)
);

-- A member who asked (/quiet) not to be told of plan changes any more.
ALTER TABLE members ADD COLUMN quiet_at TEXT;

-- A tambon's plan year (Buddhist era) and the phase it is in, set by the team.
CREATE TABLE plan_years (
    tambon_id  INTEGER NOT NULL REFERENCES tambons (id) ON DELETE CASCADE,
    year_be    INTEGER NOT NULL,
    phase      TEXT NOT NULL CHECK (phase IN ('collecting', 'hearing', 'drafting', 'approved',
                                              'implementing', 'evaluated')),
    started_at TEXT NOT NULL,
    PRIMARY KEY (tambon_id, year_be)
);

-- Pushes sent per channel and month (Bangkok time): LINE counts them against the Official
-- Account's monthly quota, so the administrator watches them (tambon-bot inbox status).
CREATE TABLE push_counts (
    channel TEXT NOT NULL,
    month   TEXT NOT NULL,
    pushes  INTEGER NOT NULL,
    PRIMARY KEY (channel, month)
);
