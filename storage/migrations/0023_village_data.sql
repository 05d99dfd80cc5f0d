-- Data beside voices (the seed's first component): each village's basic facts, the household
-- survey's indicator results (จปฐ.), the rows of the villages' own plans and the tambon's
-- resources. Everything about households is a count for a whole village: nothing here can
-- name or point at one household.

-- A village's households and population, as the team last imported them.
CREATE TABLE village_facts (
    tambon_id  INTEGER NOT NULL,
    moo        INTEGER NOT NULL,
    households INTEGER NOT NULL CHECK (households >= 0),
    population INTEGER NOT NULL CHECK (population >= 0),
    women      INTEGER CHECK (women >= 0),
    men        INTEGER CHECK (men >= 0),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tambon_id, moo),
    FOREIGN KEY (tambon_id, moo) REFERENCES villages (tambon_id, moo) ON DELETE CASCADE
);

-- One indicator of the household survey in one village and year: how many households were
-- surveyed and how many were below the standard. ``indicator`` is the shipped list's number
-- ("jpt-9") or, for one the list does not know, the name the file gave; ``category`` is ours.
CREATE TABLE village_indicators (
    tambon_id  INTEGER NOT NULL,
    moo        INTEGER NOT NULL,
    year_be    INTEGER NOT NULL,
    indicator  TEXT NOT NULL,
    name       TEXT NOT NULL,
    category   TEXT,
    surveyed   INTEGER NOT NULL CHECK (surveyed >= 0),
    below      INTEGER NOT NULL CHECK (below >= 0 AND below <= surveyed),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tambon_id, moo, year_be, indicator),
    FOREIGN KEY (tambon_id, moo) REFERENCES villages (tambon_id, moo) ON DELETE CASCADE
);

-- What a village's own plan said of a row that came in as a submission (origin "village plan").
CREATE TABLE village_plan_rows (
    submission_id INTEGER PRIMARY KEY REFERENCES submissions (id) ON DELETE CASCADE,
    priority      INTEGER CHECK (priority > 0),
    budget        INTEGER CHECK (budget >= 0),
    source        TEXT
);

-- The community's potential: funds, groups and networks, local experts, products, facilities.
-- ``moo`` 0: the whole tambon. A contact is a role ("chair of the savings group"), never a
-- private phone number.
CREATE TABLE resources (
    id           INTEGER PRIMARY KEY,
    tambon_id    INTEGER NOT NULL REFERENCES tambons (id) ON DELETE CASCADE,
    moo          INTEGER NOT NULL DEFAULT 0 CHECK (moo >= 0),
    kind         TEXT NOT NULL CHECK (kind IN ('fund', 'group', 'expert', 'product', 'facility')),
    name         TEXT NOT NULL CHECK (length(trim(name)) > 0),
    contact_role TEXT,
    details      TEXT,
    created_at   TEXT NOT NULL,
    UNIQUE (tambon_id, moo, kind, name)
);

-- A plan item can name one of the tambon's resources as a source (the seed's step 3).
ALTER TABLE plan_items ADD COLUMN resource_id INTEGER REFERENCES resources (id) ON DELETE SET NULL;
