-- +goose Up
-- No query filters on a row's sales by their statistics: the lookup goes through the GIN index
-- with its keys hidden from the planner (SalesSeenGet). Element statistics of the arrays and
-- of the index's keys are what an automatic ANALYZE of this table spent its time on (measured
-- in a 1,000-client nightly run: the costliest of all the analyzes), so they are not gathered.
ALTER TABLE sales_seen_days ALTER COLUMN sale_ids SET STATISTICS 0, ALTER COLUMN completed_ats SET STATISTICS 0;
ALTER INDEX sales_seen_days_keys ALTER COLUMN 1 SET STATISTICS 0;

-- +goose Down
ALTER INDEX sales_seen_days_keys ALTER COLUMN 1 SET STATISTICS -1;
ALTER TABLE sales_seen_days ALTER COLUMN sale_ids SET STATISTICS -1, ALTER COLUMN completed_ats SET STATISTICS -1;
