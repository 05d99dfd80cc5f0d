-- Problem groups: near-duplicate submissions of a tambon gathered into one problem, so that
-- summaries and polls count reporters and villages, not raw messages. A person who says "same
-- problem" when the bot finds a match is counted in group_reporters instead of filing again.

CREATE TABLE problem_groups (
    id          INTEGER PRIMARY KEY,
    tambon_id   INTEGER NOT NULL REFERENCES tambons (id) ON DELETE CASCADE,
    title       TEXT NOT NULL,
    keywords    TEXT NOT NULL,
    categories  TEXT NOT NULL,
    village_moo INTEGER,
    created_at  TEXT NOT NULL
);
CREATE INDEX problem_groups_tambon ON problem_groups (tambon_id);

ALTER TABLE submissions ADD COLUMN group_id INTEGER REFERENCES problem_groups (id) ON DELETE SET NULL;
CREATE INDEX submissions_group ON submissions (group_id);

CREATE TABLE group_reporters (
    id          INTEGER PRIMARY KEY,
    group_id    INTEGER NOT NULL REFERENCES problem_groups (id) ON DELETE CASCADE,
    member_id   INTEGER REFERENCES members (id) ON DELETE CASCADE,
    village_moo INTEGER,
    relayed     INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
);
-- One "same problem" per person and group; relayed reports (on behalf of others) may repeat.
CREATE UNIQUE INDEX group_reporters_once ON group_reporters (group_id, member_id) WHERE relayed = 0;
