-- +goose Up
-- The imports schema: imports, their jobs (the source of truth for the work queue; JetStream
-- only delivers job ids), the problems jobs met, the nightly schedule's once-per-day claims and
-- the shared Lightspeed rate budget per account.

CREATE TABLE imports (
    import_id          uuid        PRIMARY KEY,
    client_id          text        NOT NULL,
    department_ids     text[]      NOT NULL,
    -- The span of all jobs; a scheduled import's departments may each have their own dates.
    from_date          date        NOT NULL,
    until_date         date        NOT NULL,
    overwrite_approved boolean     NOT NULL,
    -- posimport.v1.ImportTrigger.
    trigger            smallint    NOT NULL,
    created_by         text        NOT NULL,
    -- For scheduled imports: the 02:00 instant they were started for (import lag is measured from it).
    scheduled_for      timestamptz,
    -- POS data types the provider fills that no field receives (posimport.v1.PosDataType values).
    unmapped_types     smallint[]  NOT NULL DEFAULT '{}',
    create_time        timestamptz NOT NULL DEFAULT now(),
    cancel_time        timestamptz,
    finish_time        timestamptz,
    CHECK (from_date <= until_date)
);
CREATE INDEX imports_client_newest ON imports (client_id, create_time DESC, import_id DESC);

CREATE TABLE jobs (
    job_id                uuid        PRIMARY KEY,
    import_id             uuid        NOT NULL REFERENCES imports ON DELETE CASCADE,
    client_id             text        NOT NULL,
    department_id         text        NOT NULL,
    -- '' means the whole department (a department without register ids).
    register_id           text        NOT NULL,
    -- The POS location (Lightspeed shop id) and the department's zone when planned.
    location_id           text        NOT NULL,
    time_zone             text        NOT NULL,
    from_date             date        NOT NULL,
    until_date            date        NOT NULL,
    state                 text        NOT NULL DEFAULT 'PENDING'
        CHECK (state IN ('PENDING', 'RUNNING', 'DONE', 'SKIPPED', 'FAILED', 'CANCELLED')),
    -- Incremented by every lease: the fencing token of WriteDay and of the job's own updates.
    attempt               integer     NOT NULL DEFAULT 0,
    lease_owner           text        NOT NULL DEFAULT '',
    lease_until           timestamptz,
    -- Outbox: set once JetStream acknowledged the job's message.
    published_at          timestamptz,
    -- Re-publications by the reconciler, which make each fresh Nats-Msg-Id unique.
    republish_count       integer     NOT NULL DEFAULT 0,
    -- Counters of the latest attempt (an attempt recomputes every day of the job).
    days_written          integer     NOT NULL DEFAULT 0,
    days_unchanged        integer     NOT NULL DEFAULT 0,
    days_skipped_approved integer     NOT NULL DEFAULT 0,
    sales_counted         bigint      NOT NULL DEFAULT 0,
    requests_made         bigint      NOT NULL DEFAULT 0,
    last_error            text        NOT NULL DEFAULT '',
    create_time           timestamptz NOT NULL DEFAULT now(),
    start_time            timestamptz,
    finish_time           timestamptz,
    update_time           timestamptz NOT NULL DEFAULT now(),
    CHECK (from_date <= until_date)
);
CREATE INDEX jobs_import ON jobs (import_id, department_id);
-- The reconciler's and the fairness cap's scans only look at unfinished jobs.
CREATE INDEX jobs_open ON jobs (state, client_id) WHERE state IN ('PENDING', 'RUNNING');

CREATE TABLE import_errors (
    error_id      bigserial   PRIMARY KEY,
    import_id     uuid        NOT NULL REFERENCES imports ON DELETE CASCADE,
    job_id        uuid        NOT NULL,
    department_id text        NOT NULL,
    register_id   text        NOT NULL,
    from_date     date        NOT NULL,
    until_date    date        NOT NULL,
    message       text        NOT NULL,
    permanent     boolean     NOT NULL,
    create_time   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX import_errors_import ON import_errors (import_id, error_id);

-- A department of an import whose days were marked imported in the balance (auto-confirm).
CREATE TABLE import_departments_marked (
    import_id     uuid        NOT NULL REFERENCES imports ON DELETE CASCADE,
    department_id text        NOT NULL,
    mark_time     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (import_id, department_id)
);

-- One row per local run date of the nightly schedule: inserting it is the claim, so one
-- replica runs a date. A claim whose holder died before done_time is taken over after
-- claim_until; per-client rows keep the takeover from starting a client twice.
CREATE TABLE schedule_runs (
    run_date      date        PRIMARY KEY,
    scheduled_for timestamptz NOT NULL,
    claimed_by    text        NOT NULL,
    claim_until   timestamptz NOT NULL,
    claim_time    timestamptz NOT NULL DEFAULT now(),
    done_time     timestamptz
);

CREATE TABLE schedule_run_clients (
    run_date  date        NOT NULL REFERENCES schedule_runs ON DELETE CASCADE,
    client_id text        NOT NULL,
    -- STARTED, NEEDS_REAUTH, NOT_ENABLED or FAILED.
    outcome   text        NOT NULL,
    import_id uuid,
    detail    text        NOT NULL DEFAULT '',
    time      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_date, client_id)
);

-- The shared rate budget of one POS account (GCRA / virtual scheduling): tat is the
-- theoretical arrival time of the bucket (when the modelled level would be zero again),
-- next_send spaces requests under the burst limit, paused_until holds everyone after a 429.
CREATE TABLE rate_budgets (
    account_key   text             PRIMARY KEY,
    tat           timestamptz      NOT NULL,
    next_send     timestamptz      NOT NULL,
    paused_until  timestamptz      NOT NULL,
    bucket_size   double precision NOT NULL,
    drip_rate     double precision NOT NULL,
    burst_max     integer          NOT NULL,
    update_time   timestamptz      NOT NULL DEFAULT now(),
    CHECK (bucket_size > 0 AND drip_rate > 0 AND burst_max > 0)
);

-- +goose Down
DROP TABLE rate_budgets;
DROP TABLE schedule_run_clients;
DROP TABLE schedule_runs;
DROP TABLE import_departments_marked;
DROP TABLE import_errors;
DROP TABLE jobs;
DROP TABLE imports;
