-- name: ImportInsert :exec
INSERT INTO imports (import_id, client_id, department_ids, from_date, until_date, overwrite_approved,
                     trigger, created_by, scheduled_for, partial)
VALUES (@import_id, @client_id, @department_ids, @from_date, @until_date, @overwrite_approved,
        @trigger, @created_by, @scheduled_for, @partial);

-- name: ImportGet :one
SELECT * FROM imports WHERE client_id = @client_id AND import_id = @import_id;

-- name: ImportRunningIdentical :one
-- The oldest import of the client identical to the one described (the same departments, in
-- any order, dates, overwrite flag and trigger) that is neither cancelled nor finished and
-- still has jobs to run.
SELECT i.import_id FROM imports i
WHERE i.client_id = @client_id AND i.finish_time IS NULL AND i.cancel_time IS NULL
  AND i.from_date = @from_date AND i.until_date = @until_date
  AND i.overwrite_approved = @overwrite_approved AND i.trigger = @trigger
  AND i.department_ids @> @department_ids::text[] AND i.department_ids <@ @department_ids::text[]
  AND EXISTS (SELECT 1 FROM jobs j WHERE j.import_id = i.import_id AND j.state IN ('PENDING', 'RUNNING'))
ORDER BY i.create_time, i.import_id
LIMIT 1;

-- name: ImportList :many
-- Newest first; a page starts after the import named by the cursor (none: the first page).
SELECT * FROM imports i
WHERE i.client_id = @client_id
  AND (sqlc.narg('after')::uuid IS NULL OR (i.create_time, i.import_id) < (
        SELECT a.create_time, a.import_id FROM imports a WHERE a.import_id = sqlc.narg('after')::uuid))
ORDER BY i.create_time DESC, i.import_id DESC
LIMIT @max_rows;

-- name: ImportCancel :one
UPDATE imports SET cancel_time = coalesce(cancel_time, now())
WHERE client_id = @client_id AND import_id = @import_id AND finish_time IS NULL
RETURNING *;

-- name: ImportAddUnmappedTypes :exec
UPDATE imports
SET unmapped_types = (SELECT coalesce(array_agg(DISTINCT t ORDER BY t), '{}')::smallint[]
                      FROM unnest(unmapped_types || @types::smallint[]) AS t)
WHERE import_id = @import_id AND NOT (@types::smallint[] <@ unmapped_types);

-- name: ImportFinishIfEnded :one
-- Sets finish_time once no job is left pending or running; returns the import only then.
UPDATE imports i SET finish_time = now()
WHERE i.import_id = @import_id AND i.finish_time IS NULL
  AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.import_id = i.import_id AND j.state IN ('PENDING', 'RUNNING'))
RETURNING *;

-- name: ImportsUnfinishedEnded :many
-- Imports whose jobs all ended but which were not marked finished (a worker died in between).
SELECT i.import_id FROM imports i
WHERE i.finish_time IS NULL
  AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.import_id = i.import_id AND j.state IN ('PENDING', 'RUNNING'));

-- name: ImportErrorInsert :exec
INSERT INTO import_errors (import_id, job_id, department_id, register_id, from_date, until_date, message, permanent)
VALUES (@import_id, @job_id, @department_id, @register_id, @from_date, @until_date, @message, @permanent);

-- name: ImportErrorList :many
-- The most recent errors, oldest first.
SELECT * FROM (
    SELECT * FROM import_errors WHERE import_id = @import_id ORDER BY error_id DESC LIMIT @max_rows
) e ORDER BY error_id;

-- name: ImportJobSummary :many
-- Per department and state: job counts, the counters and the date span.
SELECT department_id, state,
       count(*)::int                        AS jobs,
       sum(days_written)::bigint            AS days_written,
       sum(days_unchanged)::bigint          AS days_unchanged,
       sum(days_skipped_approved)::bigint   AS days_skipped_approved,
       sum(days_correction_pending)::bigint AS days_correction_pending,
       sum(sales_counted)::bigint           AS sales_counted,
       sum(requests_made)::bigint           AS requests_made,
       min(from_date)::date                 AS from_date,
       max(until_date)::date                AS until_date
FROM jobs WHERE import_id = @import_id
GROUP BY department_id, state
ORDER BY department_id, state;

-- name: ImportMarkedDepartments :many
SELECT department_id FROM import_departments_marked WHERE import_id = @import_id ORDER BY department_id;

-- name: DepartmentsToMark :many
-- Departments of an import (or of any import changed lately) whose jobs all ended DONE or
-- SKIPPED and that were not marked imported in the balance yet.
SELECT j.import_id, j.client_id, j.department_id,
       min(j.from_date)::date  AS from_date,
       max(j.until_date)::date AS until_date,
       min(j.time_zone)::text  AS time_zone
FROM jobs j
WHERE (sqlc.narg('import_id')::uuid IS NULL OR j.import_id = sqlc.narg('import_id')::uuid)
  AND NOT EXISTS (SELECT 1 FROM import_departments_marked m
                  WHERE m.import_id = j.import_id AND m.department_id = j.department_id)
GROUP BY j.import_id, j.client_id, j.department_id
HAVING bool_and(j.state IN ('DONE', 'SKIPPED')) AND max(j.update_time) > now() - interval '3 days';

-- name: DepartmentMarkInsert :exec
INSERT INTO import_departments_marked (import_id, department_id)
SELECT unnest(@import_ids::uuid[]), unnest(@department_ids::text[])
ON CONFLICT DO NOTHING;

-- name: DepartmentLastImported :many
-- Each department's last date marked imported in the balance (what MarkDepartments reports).
SELECT i.client_id, m.department_id, max(j.until_date)::date AS until_date
FROM import_departments_marked m
JOIN imports i USING (import_id)
JOIN jobs j ON j.import_id = m.import_id AND j.department_id = m.department_id
GROUP BY i.client_id, m.department_id;
