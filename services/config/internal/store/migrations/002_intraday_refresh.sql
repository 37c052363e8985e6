-- +goose Up
-- A client's intraday refresh: today's sales so far every N minutes (15 to 240), 0 = off.
ALTER TABLE client_settings ADD COLUMN intraday_refresh_minutes integer NOT NULL DEFAULT 0
    CHECK (intraday_refresh_minutes = 0 OR intraday_refresh_minutes BETWEEN 15 AND 240);

-- +goose Down
ALTER TABLE client_settings DROP COLUMN intraday_refresh_minutes;
