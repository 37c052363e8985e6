-- +goose Up
-- What change-driven re-imports need (Lightspeed Retail lists the sales changed since a time,
-- whatever day they belong to): where each imported sale was counted, so a sale whose
-- completion time moved corrects the day it left as well as the day it joined; each nightly
-- change listing with the watermark it reached, which counts only once its import's jobs all
-- ended DONE or SKIPPED (the days it covers are written); and why a job writes a day, kept
-- with the correction an approved day gets.

-- The position an import last counted a sale at: its shop, register and completion time.
CREATE TABLE sales_seen (
    account_key  text        NOT NULL,
    sale_id      text        NOT NULL,
    location_id  text        NOT NULL,
    register_id  text        NOT NULL,
    completed_at timestamptz NOT NULL,
    update_time  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_key, sale_id)
);

-- One change listing of a nightly import: the changes at or after since, up to watermark.
CREATE TABLE change_scans (
    import_id   uuid        PRIMARY KEY REFERENCES imports ON DELETE CASCADE,
    account_key text        NOT NULL,
    since       timestamptz NOT NULL,
    watermark   timestamptz NOT NULL,
    changes     integer     NOT NULL,
    requests    integer     NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    CHECK (since <= watermark)
);
CREATE INDEX change_scans_account ON change_scans (account_key, watermark DESC);

-- Why a job writes a day (the sales behind it), when it is more than the import's own reason.
CREATE TABLE job_day_causes (
    job_id     uuid    NOT NULL REFERENCES jobs ON DELETE CASCADE,
    day        date    NOT NULL,
    reason     text    NOT NULL,
    sale_ids   text[]  NOT NULL,
    sale_count integer NOT NULL,
    PRIMARY KEY (job_id, day)
);

-- Register-days of a job whose changed values the balance kept as a pending correction
-- (the day is approved), for the import's progress.
ALTER TABLE jobs ADD COLUMN days_correction_pending integer NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE jobs DROP COLUMN days_correction_pending;
DROP TABLE job_day_causes;
DROP TABLE change_scans;
DROP TABLE sales_seen;
