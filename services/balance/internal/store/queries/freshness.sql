-- name: FreshnessUpsertMany :exec
-- After MarkDaysImported: each department's last completely imported day (marked, not
-- partial) and its import's time. The departments are distinct.
INSERT INTO department_freshness (client_id, department_id, time_zone, complete_through, last_import_time, last_import_id)
SELECT @client_id::text, d.department_id, d.time_zone,
       (SELECT max(s.business_date) FROM day_status s
        WHERE s.client_id = @client_id AND s.department_id = d.department_id AND s.import_finished AND NOT s.partial),
       d.last_import_time, d.last_import_id
FROM (
    SELECT unnest(@department_ids::text[]) AS department_id, unnest(@time_zones::text[]) AS time_zone,
           unnest(@last_import_times::timestamptz[]) AS last_import_time, unnest(@last_import_ids::text[]) AS last_import_id
) d
ORDER BY d.department_id
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
