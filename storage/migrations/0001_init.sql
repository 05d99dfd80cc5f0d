-- The core schema: tambons, villages, join codes, members, conversations, submissions,
-- tag corrections and the update ledger that makes redelivery harmless.
-- Timestamps are ISO 8601 text in UTC.

CREATE TABLE tambons (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE CHECK (length(code) = 6),
    name_th     TEXT NOT NULL,
    amphoe_th   TEXT NOT NULL,
    province_th TEXT NOT NULL,
    name_en     TEXT,
    amphoe_en   TEXT,
    province_en TEXT,
    created_at  TEXT NOT NULL
);

CREATE TABLE villages (
    tambon_id INTEGER NOT NULL REFERENCES tambons (id) ON DELETE CASCADE,
    moo       INTEGER NOT NULL CHECK (moo > 0),
    name      TEXT,
    PRIMARY KEY (tambon_id, moo)
);

CREATE TABLE invites (
    code       TEXT PRIMARY KEY,
    tambon_id  INTEGER NOT NULL REFERENCES tambons (id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('villager', 'member', 'team', 'admin')),
    created_at TEXT NOT NULL,
    revoked    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE members (
    id               INTEGER PRIMARY KEY,
    channel          TEXT NOT NULL,
    platform_user_id TEXT NOT NULL,
    tambon_id        INTEGER NOT NULL REFERENCES tambons (id) ON DELETE CASCADE,
    role             TEXT NOT NULL CHECK (role IN ('villager', 'member', 'team', 'admin')),
    village_moo      INTEGER,
    locale           TEXT,
    consent_at       TEXT,
    pseudonym        TEXT NOT NULL UNIQUE,
    created_at       TEXT NOT NULL,
    UNIQUE (channel, platform_user_id)
);

CREATE TABLE conversations (
    member_id  INTEGER PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
    step       TEXT NOT NULL DEFAULT '',
    data       TEXT NOT NULL DEFAULT '{}',
    offered    TEXT NOT NULL DEFAULT '[]',
    updated_at TEXT NOT NULL
);

CREATE TABLE submissions (
    id          INTEGER PRIMARY KEY,
    tambon_id   INTEGER NOT NULL REFERENCES tambons (id) ON DELETE CASCADE,
    village_moo INTEGER,
    author_id   INTEGER REFERENCES members (id) ON DELETE SET NULL,
    relayed     INTEGER NOT NULL DEFAULT 0,
    text        TEXT NOT NULL CHECK (length(trim(text)) > 0),
    kind        TEXT NOT NULL CHECK (kind IN ('problem', 'need', 'idea')),
    channel     TEXT NOT NULL,
    source_id   TEXT,
    created_at  TEXT NOT NULL,
    UNIQUE (channel, source_id)
);
CREATE INDEX submissions_tambon ON submissions (tambon_id, id);
CREATE INDEX submissions_author ON submissions (author_id);

CREATE TABLE submission_categories (
    submission_id INTEGER NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
    category      TEXT NOT NULL,
    position      INTEGER NOT NULL,
    PRIMARY KEY (submission_id, category)
);
CREATE INDEX submission_categories_category ON submission_categories (category);

CREATE TABLE tag_corrections (
    id             INTEGER PRIMARY KEY,
    submission_id  INTEGER NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
    member_id      INTEGER REFERENCES members (id) ON DELETE SET NULL,
    source         TEXT NOT NULL CHECK (source IN ('sender', 'team')),
    old_categories TEXT NOT NULL,
    new_categories TEXT NOT NULL,
    old_kind       TEXT NOT NULL,
    new_kind       TEXT NOT NULL,
    old_village    INTEGER,
    new_village    INTEGER,
    created_at     TEXT NOT NULL
);

CREATE TABLE processed_updates (
    channel     TEXT NOT NULL,
    update_key  TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (channel, update_key)
);
