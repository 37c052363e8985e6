-- +goose Up
-- The config schema: a client's POS settings, the departments' POS mapping and the
-- weekly-balance field definitions. Rules the service checks are repeated here as
-- constraints, so a race between two writers cannot break them either.

CREATE TABLE client_settings (
    client_id                   text        PRIMARY KEY,
    multi_cash_registers        boolean     NOT NULL,
    pos_import_enabled          boolean     NOT NULL,
    pos_provider                smallint    NOT NULL,
    auto_confirm_weekly_balance boolean     NOT NULL,
    -- Local wall-clock time, kept as text: it is a time of day in the client's zone, not an instant.
    confirm_time                text        NOT NULL CHECK (confirm_time ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
    time_zone                   text        NOT NULL CHECK (time_zone <> ''),
    update_time                 timestamptz NOT NULL DEFAULT now(),
    CHECK (NOT pos_import_enabled OR (pos_provider <> 0 AND multi_cash_registers))
);

CREATE TABLE departments (
    client_id         text        NOT NULL,
    department_id     text        NOT NULL,
    name              text        NOT NULL,
    pos_client_number text        NOT NULL,
    -- Empty means the client's time zone.
    time_zone         text        NOT NULL DEFAULT '',
    update_time       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, department_id)
);

-- A register belongs to one department of a client: the primary key says so.
CREATE TABLE department_registers (
    client_id     text    NOT NULL,
    register_id   text    NOT NULL,
    department_id text    NOT NULL,
    position      integer NOT NULL,
    PRIMARY KEY (client_id, register_id),
    FOREIGN KEY (client_id, department_id) REFERENCES departments (client_id, department_id) ON DELETE CASCADE
);
CREATE INDEX department_registers_department ON department_registers (client_id, department_id, position);

-- A department with its register ids in order, as every read wants it.
CREATE VIEW department_view AS
SELECT d.client_id, d.department_id, d.name, d.pos_client_number, d.time_zone, d.update_time,
       COALESCE(array_agg(r.register_id ORDER BY r.position) FILTER (WHERE r.register_id IS NOT NULL), '{}')::text[] AS register_ids
FROM departments d
LEFT JOIN department_registers r USING (client_id, department_id)
GROUP BY d.client_id, d.department_id;

CREATE TABLE balance_fields (
    client_id            text        NOT NULL,
    field_id             bigint      NOT NULL CHECK (field_id > 0),
    name                 text        NOT NULL,
    pos_data_type        smallint    NOT NULL,
    split_into_intervals boolean     NOT NULL,
    update_time          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, field_id)
);
-- A POS data type feeds at most one field of a client (0 = none, any number of those).
CREATE UNIQUE INDEX balance_fields_one_per_type ON balance_fields (client_id, pos_data_type) WHERE pos_data_type <> 0;

-- +goose Down
DROP TABLE balance_fields;
DROP VIEW department_view;
DROP TABLE department_registers;
DROP TABLE departments;
DROP TABLE client_settings;
