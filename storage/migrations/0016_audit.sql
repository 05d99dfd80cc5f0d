-- Who did what, when: every team action, written in the same transaction as the action. "who"
-- is a role and pseudonym from chat ("team P-7F3A") or an operator's name from the command line;
-- "detail" is JSON (ids and counts, never a villager's words).
CREATE TABLE audit (
    id        INTEGER PRIMARY KEY,
    tambon_id INTEGER NOT NULL REFERENCES tambons (id) ON DELETE CASCADE,
    at        TEXT NOT NULL,
    who       TEXT NOT NULL,
    action    TEXT NOT NULL,
    detail    TEXT NOT NULL
);
CREATE INDEX audit_by_tambon ON audit (tambon_id, id);
