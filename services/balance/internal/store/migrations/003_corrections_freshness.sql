-- +goose Up
-- Trust over time: partial days (today so far), corrections of approved days, the audit of
-- changes to approved days, and each department's freshness.

-- A register-day written by an intraday refresh holds the day so far; the nightly run's full
-- write closes it. The day is partial while any of its registers is (kept on day_status, under
-- the day's lock, so reads and auto-confirm need no join).
ALTER TABLE register_days ADD COLUMN partial boolean NOT NULL DEFAULT false;
ALTER TABLE day_status ADD COLUMN partial boolean NOT NULL DEFAULT false;
-- The day's registers with a pending correction, kept with the corrections under the day lock.
ALTER TABLE day_status ADD COLUMN corrections_pending integer NOT NULL DEFAULT 0;

-- What an import found on an approved register-day that differs from the approved values.
-- before_values are the approved values when the correction was first recorded (they cannot
-- change while it is pending: any write of the register-day closes it); after_values are the
-- latest import's. Both are JSON arrays of {field_id, hours[], total} with amounts as strings,
-- so they stay exact. state: 1 pending, 2 applied, 3 dismissed, 4 withdrawn.
CREATE TABLE corrections (
    client_id        text        NOT NULL,
    correction_id    uuid        NOT NULL DEFAULT gen_random_uuid(),
    -- Order of creation: lists and their page tokens.
    seq              bigint      NOT NULL GENERATED ALWAYS AS IDENTITY,
    department_id    text        NOT NULL,
    business_date    date        NOT NULL,
    register_id      text        NOT NULL,
    time_zone        text        NOT NULL,
    state            smallint    NOT NULL DEFAULT 1 CHECK (state IN (1, 2, 3, 4)),
    before_values    jsonb       NOT NULL,
    after_values     jsonb       NOT NULL,
    import_id        text        NOT NULL,
    job_id           text        NOT NULL,
    fencing_token    bigint      NOT NULL,
    cause_reason     text        NOT NULL DEFAULT '',
    cause_sale_ids   text[]      NOT NULL DEFAULT '{}',
    cause_sale_count integer     NOT NULL DEFAULT 0,
    create_time      timestamptz NOT NULL,
    update_time      timestamptz NOT NULL,
    resolve_time     timestamptz,
    resolved_by      text        NOT NULL DEFAULT '',
    PRIMARY KEY (client_id, correction_id),
    FOREIGN KEY (client_id, department_id, business_date) REFERENCES day_status,
    CHECK ((state = 1) = (resolve_time IS NULL))
);
-- A register-day has at most one pending correction.
CREATE UNIQUE INDEX corrections_one_pending ON corrections (client_id, department_id, business_date, register_id)
    WHERE state = 1;
CREATE INDEX corrections_newest ON corrections (client_id, seq DESC);

-- Every change to an approved register-day, and every decision about a correction: who, when,
-- what (changes: JSON array of {field_id, hour (-1 for the day total), before, after}).
-- action: 1 correction applied, 2 correction dismissed, 3 import overwrote.
CREATE TABLE audit_records (
    client_id     text        NOT NULL,
    audit_id      uuid        NOT NULL DEFAULT gen_random_uuid(),
    seq           bigint      NOT NULL GENERATED ALWAYS AS IDENTITY,
    action        smallint    NOT NULL CHECK (action IN (1, 2, 3)),
    actor         text        NOT NULL,
    record_time   timestamptz NOT NULL,
    department_id text        NOT NULL,
    business_date date        NOT NULL,
    register_id   text        NOT NULL,
    time_zone     text        NOT NULL,
    changes       jsonb       NOT NULL,
    correction_id uuid,
    import_id     text        NOT NULL,
    job_id        text        NOT NULL,
    PRIMARY KEY (client_id, audit_id)
);
CREATE INDEX audit_records_newest ON audit_records (client_id, seq DESC);

-- Per department: the last local date imported completely (marked imported, not partial), the
-- last import that finished days of it, and its zone (the zone the metrics judge it in).
-- MarkDaysImported keeps it, so reads and the metrics need no scan of day_status.
CREATE TABLE department_freshness (
    client_id        text        NOT NULL,
    department_id    text        NOT NULL,
    time_zone        text        NOT NULL,
    complete_through date,
    last_import_time timestamptz NOT NULL,
    last_import_id   text        NOT NULL,
    PRIMARY KEY (client_id, department_id)
);
-- Departments marked before this migration: their latest marked day, the zone their values
-- were last written in and the time the day was marked. A department whose marked days hold no
-- values has no zone here; its row comes with its next import.
INSERT INTO department_freshness (client_id, department_id, time_zone, complete_through, last_import_time, last_import_id)
SELECT s.client_id, s.department_id, z.time_zone, max(s.business_date), max(s.update_time),
       (array_agg(s.finished_import_id ORDER BY s.update_time DESC))[1]
FROM day_status s
CROSS JOIN LATERAL (
    SELECT r.time_zone FROM register_days r
    WHERE r.client_id = s.client_id AND r.department_id = s.department_id
    ORDER BY r.business_date DESC LIMIT 1
) z
WHERE s.import_finished
GROUP BY s.client_id, s.department_id, z.time_zone;

-- +goose Down
DROP TABLE department_freshness;
DROP TABLE audit_records;
DROP TABLE corrections;
ALTER TABLE day_status DROP COLUMN corrections_pending;
ALTER TABLE day_status DROP COLUMN partial;
ALTER TABLE register_days DROP COLUMN partial;
