-- +goose Up
-- The balance schema: per department and local business date the day's approval status, per
-- register the values each weekly-balance field had in each local clock hour, and the
-- department's sums over its registers. Every table leads with client_id: every query is
-- scoped to the client the caller's token was checked for.

-- One row per department-day that was ever written, marked imported or approved. It is the
-- day's lock: WriteDay, MarkDaysImported, ApproveDays, ReopenDays and auto-confirm all take it
-- FOR UPDATE (creating it first), so a day is never approved while its values change.
CREATE TABLE day_status (
    client_id          text        NOT NULL,
    department_id      text        NOT NULL,
    business_date      date        NOT NULL,
    -- 1 = OPEN, 2 = APPROVED (posimport.v1.DayStatus).
    status             smallint    NOT NULL DEFAULT 1 CHECK (status IN (1, 2)),
    approved_by        text        NOT NULL DEFAULT '',
    approve_time       timestamptz,
    -- version counts changes to the day's values; approved_version is its value when the day
    -- was approved, so "values changed after approval" is version <> approved_version.
    version            bigint      NOT NULL DEFAULT 0,
    approved_version   bigint,
    import_finished    boolean     NOT NULL DEFAULT false,
    finished_import_id text        NOT NULL DEFAULT '',
    -- Auto-confirm approves a day at most once, and never one a person reopened.
    auto_confirmed     boolean     NOT NULL DEFAULT false,
    reopened           boolean     NOT NULL DEFAULT false,
    registers_imported integer     NOT NULL DEFAULT 0,
    update_time        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, department_id, business_date),
    CHECK ((status = 2) = (approve_time IS NOT NULL))
);
-- The days auto-confirm may still approve.
CREATE INDEX day_status_auto_confirm ON day_status (client_id, business_date)
    WHERE status = 1 AND import_finished AND NOT auto_confirmed AND NOT reopened;

-- One row per register-day that holds values. register_id is '' for a department without
-- registers.
CREATE TABLE register_days (
    client_id     text        NOT NULL,
    department_id text        NOT NULL,
    business_date date        NOT NULL,
    register_id   text        NOT NULL,
    -- The zone the hours are local to.
    time_zone     text        NOT NULL,
    import_id     text        NOT NULL,
    job_id        text        NOT NULL,
    fencing_token bigint      NOT NULL,
    -- Write counter: 1 after the first write, +1 for each write that changed the values.
    version       bigint      NOT NULL,
    write_time    timestamptz NOT NULL,
    PRIMARY KEY (client_id, department_id, business_date, register_id),
    FOREIGN KEY (client_id, department_id, business_date) REFERENCES day_status
);

-- A register-day's value of one field: one per local clock hour (split fields; 23, 24 or 25)
-- or none (per-day fields), and the day's total. Amounts are exact numerics, never floats.
CREATE TABLE register_values (
    client_id     text      NOT NULL,
    department_id text      NOT NULL,
    business_date date      NOT NULL,
    register_id   text      NOT NULL,
    field_id      bigint    NOT NULL,
    hours         numeric[] NOT NULL,
    total         numeric   NOT NULL,
    PRIMARY KEY (client_id, department_id, business_date, register_id, field_id),
    FOREIGN KEY (client_id, department_id, business_date, register_id) REFERENCES register_days ON DELETE CASCADE
);

-- The department's sums over registers per day and field, rewritten by WriteDay in the same
-- transaction (under the day lock) as the register values, so the weekly read is an index
-- range scan instead of an aggregation over every register.
CREATE TABLE day_values (
    client_id     text      NOT NULL,
    department_id text      NOT NULL,
    business_date date      NOT NULL,
    field_id      bigint    NOT NULL,
    hours         numeric[] NOT NULL,
    total         numeric   NOT NULL,
    PRIMARY KEY (client_id, department_id, business_date, field_id),
    FOREIGN KEY (client_id, department_id, business_date) REFERENCES day_status
);

-- The highest fencing token (the job's attempt number) seen per import job; a write with a
-- lower one comes from a superseded attempt and is refused.
CREATE TABLE job_fences (
    client_id     text        NOT NULL,
    job_id        text        NOT NULL,
    fencing_token bigint      NOT NULL,
    PRIMARY KEY (client_id, job_id)
);

-- One row per client and client-local date on which auto-confirm ran: the primary key is what
-- makes the run happen once across replicas.
CREATE TABLE auto_confirm_runs (
    client_id     text        NOT NULL,
    local_date    date        NOT NULL,
    run_time      timestamptz NOT NULL,
    days_approved integer     NOT NULL,
    PRIMARY KEY (client_id, local_date)
);

-- +goose Down
DROP TABLE auto_confirm_runs;
DROP TABLE job_fences;
DROP TABLE day_values;
DROP TABLE register_values;
DROP TABLE register_days;
DROP TABLE day_status;
