-- +goose Up
-- Location groups: a POS that filters sales by location, not by register (Lightspeed
-- Restaurant), is read once per location and chunk for all the jobs of that location. Those
-- jobs share group_id, the id of their lead: only the lead is published, leased, retried and
-- reconciled, and its lease takes every member's (each member keeps its own attempt, the
-- fencing token of its writes, and ends in its own state, in the lead's transaction).
ALTER TABLE jobs ADD COLUMN group_id uuid;
CREATE INDEX jobs_group ON jobs (group_id) WHERE group_id IS NOT NULL;

-- +goose Down
DROP INDEX jobs_group;
ALTER TABLE jobs DROP COLUMN group_id;
