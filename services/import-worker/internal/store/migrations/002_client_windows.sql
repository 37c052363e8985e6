-- +goose Up
-- Fair queues: a client has at most a window of jobs published to JetStream and not ended
-- (JOB_MAX_RUNNING_PER_CLIENT); the rest wait here, unpublished, and the next is published
-- when one ends: the oldest import's first, in plan order, which seq records.
ALTER TABLE jobs ADD COLUMN seq bigint NOT NULL GENERATED ALWAYS AS IDENTITY;
CREATE INDEX jobs_waiting ON jobs (client_id, seq) WHERE state = 'PENDING' AND published_at IS NULL;
-- An import identical to one still running is merged into it: this finds a client's
-- unfinished imports.
CREATE INDEX imports_unfinished ON imports (client_id, from_date, until_date) WHERE finish_time IS NULL AND cancel_time IS NULL;

-- +goose Down
DROP INDEX imports_unfinished;
DROP INDEX jobs_waiting;
ALTER TABLE jobs DROP COLUMN seq;
