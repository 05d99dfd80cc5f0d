-- The tambon forum may approve the plan by a poll of those present (its first option: approve).
ALTER TABLE plan_approvals ADD COLUMN poll_id INTEGER REFERENCES polls (id) ON DELETE SET NULL;
