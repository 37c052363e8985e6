-- +goose Up
-- No query filters or joins on the values themselves, only on their keys: the statistics of
-- the hours arrays and totals (element statistics of numeric arrays, the costliest part of an
-- automatic ANALYZE of these tables in a nightly run) are not gathered.
ALTER TABLE register_values ALTER COLUMN hours SET STATISTICS 0, ALTER COLUMN total SET STATISTICS 0;
ALTER TABLE day_values ALTER COLUMN hours SET STATISTICS 0, ALTER COLUMN hours_text SET STATISTICS 0,
    ALTER COLUMN total SET STATISTICS 0;

-- +goose Down
ALTER TABLE day_values ALTER COLUMN hours SET STATISTICS -1, ALTER COLUMN hours_text SET STATISTICS -1,
    ALTER COLUMN total SET STATISTICS -1;
ALTER TABLE register_values ALTER COLUMN hours SET STATISTICS -1, ALTER COLUMN total SET STATISTICS -1;
