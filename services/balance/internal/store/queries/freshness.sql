-- name: FreshnessUpsert :exec
-- After MarkDaysImported: the department's last completely imported day (marked, not partial)
-- and this import's time.
INSERT INTO department_freshness (client_id, department_id, time_zone, complete_through, last_import_time, last_import_id)
VALUES (
    @client_id, @department_id, @time_zone,
    (SELECT max(s.business_date) FROM day_status s
     WHERE s.client_id = @client_id AND s.department_id = @department_id AND s.import_finished AND NOT s.partial),
    @last_import_time, @last_import_id
)
ON CONFLICT (client_id, department_id) DO UPDATE
SET time_zone = EXCLUDED.time_zone, complete_through = EXCLUDED.complete_through,
    last_import_time = EXCLUDED.last_import_time, last_import_id = EXCLUDED.last_import_id;

-- name: FreshnessGet :one
SELECT complete_through, last_import_time FROM department_freshness
WHERE client_id = @client_id AND department_id = @department_id;

-- name: FreshnessAll :many
-- Every department's freshness, for the metrics.
SELECT client_id, department_id, time_zone, complete_through, last_import_time FROM department_freshness
ORDER BY client_id, department_id;
