-- +goose Up
-- Today's sales during the day: an intraday refresh imports each department's local today so
-- far every few minutes (the client's intraday_refresh_minutes) and writes it as partial; the
-- nightly run's full write closes the day.

-- The import's writes are the day so far (WriteDaysRequest.partial).
ALTER TABLE imports ADD COLUMN partial boolean NOT NULL DEFAULT false;

-- Jobs of a higher priority are claimed for the client's window before its older waiting jobs,
-- so a refresh is not queued behind a year's backfill: 1 for an intraday refresh, else 0.
ALTER TABLE jobs ADD COLUMN priority smallint NOT NULL DEFAULT 0;
CREATE INDEX jobs_waiting_priority ON jobs (client_id, priority DESC, seq) WHERE state = 'PENDING' AND published_at IS NULL;

-- One row per client and refresh slot (the slot's start): inserting it is the claim, so one
-- replica starts a client's refresh of a slot.
CREATE TABLE intraday_slots (
    client_id  text        NOT NULL,
    slot       timestamptz NOT NULL,
    claimed_by text        NOT NULL,
    import_id  uuid,
    claim_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, slot)
);

-- +goose Down
DROP TABLE intraday_slots;
DROP INDEX jobs_waiting_priority;
ALTER TABLE jobs DROP COLUMN priority;
ALTER TABLE imports DROP COLUMN partial;
