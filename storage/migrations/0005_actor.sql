-- Who can act on a need or idea: suggested by the tagger, overridable by the team.
ALTER TABLE submissions ADD COLUMN actor TEXT CHECK (actor IN ('community', 'joint', 'external'));
