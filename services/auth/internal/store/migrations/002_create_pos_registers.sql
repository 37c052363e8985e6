-- +goose Up
-- The registers (devices, at Lightspeed Restaurant) of each client's POS account that imports
-- saw, as the import-worker reports them (ReportRegisters): whether a department maps each one,
-- when posimport first and last saw it, and, while no department maps it, its counted sales
-- per local date, so that GetConnection, `posimport auth status` and the metrics can say which
-- registers' sales are dropped, and which registers are new.

-- One row per register an import reported. account_id is the connection's account when it was
-- reported: after a consent to another account the old account's registers are not shown.
CREATE TABLE pos_registers (
    client_id       text        NOT NULL REFERENCES connections ON DELETE CASCADE,
    account_id      text        NOT NULL CHECK (account_id <> ''),
    location_id     text        NOT NULL CHECK (location_id <> ''),
    register_id     text        NOT NULL CHECK (register_id <> ''),
    -- Whether a department counts the register (lists it, or imports its whole location), as
    -- the last report said. A register stops being reported as unmapped when a report says it
    -- is mapped.
    mapped          boolean     NOT NULL,
    first_seen_time timestamptz NOT NULL,
    last_seen_time  timestamptz NOT NULL,
    -- The imports whose reports saw it first and last; a report repeated by its import is
    -- told the same registers were first seen by it.
    first_import_id text        NOT NULL,
    last_import_id  text        NOT NULL,
    PRIMARY KEY (client_id, account_id, location_id, register_id),
    CHECK (last_seen_time >= first_seen_time)
);
-- The metric's count of unmapped registers per client.
CREATE INDEX pos_registers_unmapped ON pos_registers (client_id) WHERE NOT mapped;

-- An unmapped register's counted sales on one local date (the location's zone). A date
-- reported again replaces its figures, so a repeated or overlapping report counts nothing
-- twice. A report that says the register is mapped deletes its days.
CREATE TABLE pos_register_days (
    client_id   text    NOT NULL,
    account_id  text    NOT NULL,
    location_id text    NOT NULL,
    register_id text    NOT NULL,
    sale_date   date    NOT NULL,
    sales_count bigint  NOT NULL CHECK (sales_count >= 0),
    -- Exact, as every amount of posimport.
    gross_sales numeric NOT NULL CHECK (gross_sales >= 0),
    PRIMARY KEY (client_id, account_id, location_id, register_id, sale_date),
    FOREIGN KEY (client_id, account_id, location_id, register_id) REFERENCES pos_registers ON DELETE CASCADE
);

-- +goose Down
DROP TABLE pos_register_days;
DROP TABLE pos_registers;
