-- Queries of the one write path: WriteDaysBatch, several registers' consecutive days of one
-- client (WriteDays is a batch of one write, WriteDay one of one day). Each statement serves
-- every register-day of the batch: the keys come as parallel arrays (unnest), so a batch
-- costs about as many round trips as one day.

-- name: DayStatusEnsureDays :exec
-- Creates the department-days that have no row yet, in (department, date) order.
INSERT INTO day_status (client_id, department_id, business_date)
SELECT @client_id::text, d.department_id, d.business_date
FROM (SELECT unnest(@department_ids::text[]) AS department_id, unnest(@dates::date[]) AS business_date) d
ORDER BY d.department_id, d.business_date
ON CONFLICT DO NOTHING;

-- name: DayStatusLockDays :many
-- Locks the department-days in (department, date) order, the order every transaction uses,
-- so two of them never wait on each other.
SELECT * FROM day_status
WHERE client_id = @client_id
  AND (department_id, business_date) IN (
      SELECT unnest(@department_ids::text[]), unnest(@dates::date[]))
ORDER BY department_id, business_date
FOR UPDATE;

-- name: JobFencesAdvance :many
-- Returns the highest token seen for each job, this batch's included: a result above a
-- write's token means a newer attempt already wrote. job_ids are distinct.
INSERT INTO job_fences (client_id, job_id, fencing_token)
SELECT @client_id::text, j.job_id, j.fencing_token
FROM (SELECT unnest(@job_ids::text[]) AS job_id, unnest(@fencing_tokens::bigint[]) AS fencing_token) j
ORDER BY j.job_id
ON CONFLICT (client_id, job_id) DO UPDATE
SET fencing_token = greatest(job_fences.fencing_token, EXCLUDED.fencing_token)
RETURNING job_id, fencing_token;

-- name: RegisterDaysOfDays :many
SELECT department_id, register_id, business_date, version, partial FROM register_days
WHERE client_id = @client_id
  AND (department_id, register_id, business_date) IN (
      SELECT unnest(@department_ids::text[]), unnest(@register_ids::text[]), unnest(@dates::date[]));

-- name: RegisterValuesOfDays :many
SELECT department_id, register_id, business_date, field_id, hours::text[] AS hours, total::text AS total
FROM register_values
WHERE client_id = @client_id
  AND (department_id, register_id, business_date) IN (
      SELECT unnest(@department_ids::text[]), unnest(@register_ids::text[]), unnest(@dates::date[]))
ORDER BY department_id, register_id, business_date, field_id;

-- name: RegisterValuesDeleteDays :exec
DELETE FROM register_values
WHERE client_id = @client_id
  AND (department_id, register_id, business_date) IN (
      SELECT unnest(@department_ids::text[]), unnest(@register_ids::text[]), unnest(@dates::date[]));

-- name: RegisterDaysUpsertDays :many
-- One row per register-day, every column as a parallel array.
INSERT INTO register_days (
    client_id, department_id, business_date, register_id, time_zone, import_id, job_id, fencing_token, version, write_time, partial
)
SELECT @client_id::text, d.department_id, d.business_date, d.register_id, d.time_zone, d.import_id, d.job_id,
       d.fencing_token, 1, d.write_time, d.partial
FROM (
    SELECT unnest(@department_ids::text[]) AS department_id, unnest(@dates::date[]) AS business_date,
           unnest(@register_ids::text[]) AS register_id, unnest(@time_zones::text[]) AS time_zone,
           unnest(@import_ids::text[]) AS import_id, unnest(@job_ids::text[]) AS job_id,
           unnest(@fencing_tokens::bigint[]) AS fencing_token, unnest(@write_times::timestamptz[]) AS write_time,
           unnest(@partials::boolean[]) AS partial
) d
ON CONFLICT (client_id, department_id, business_date, register_id) DO UPDATE
SET time_zone = EXCLUDED.time_zone, import_id = EXCLUDED.import_id, job_id = EXCLUDED.job_id,
    fencing_token = EXCLUDED.fencing_token, version = register_days.version + 1, write_time = EXCLUDED.write_time,
    partial = EXCLUDED.partial
RETURNING department_id, register_id, business_date, version;

-- name: RegisterValuesInsertDays :exec
-- hours are array literals ("{1.50,0}"), one per register-day and field, already validated as decimals.
INSERT INTO register_values (client_id, department_id, business_date, register_id, field_id, hours, total)
SELECT @client_id::text, v.department_id, v.business_date, v.register_id, v.field_id, v.hours::numeric[], v.total::numeric
FROM (
    SELECT unnest(@department_ids::text[]) AS department_id, unnest(@dates::date[]) AS business_date,
           unnest(@register_ids::text[]) AS register_id, unnest(@field_ids::bigint[]) AS field_id,
           unnest(@hours::text[]) AS hours, unnest(@totals::text[]) AS total
) v;

-- name: DayStatusWrittenDays :exec
-- After registers' values changed on these department-days: one more version per register
-- written (as many as separate writes would add), the number of registers with data, and
-- whether any of them holds the day so far. The pairs are distinct.
UPDATE day_status s
SET version = s.version + d.writes,
    registers_imported = (
        SELECT count(*) FROM register_days r
        WHERE r.client_id = s.client_id AND r.department_id = s.department_id AND r.business_date = s.business_date),
    partial = EXISTS (
        SELECT 1 FROM register_days r
        WHERE r.client_id = s.client_id AND r.department_id = s.department_id AND r.business_date = s.business_date
          AND r.partial),
    update_time = now()
FROM (
    SELECT unnest(@department_ids::text[]) AS department_id, unnest(@dates::date[]) AS business_date,
           unnest(@writes::bigint[]) AS writes
) d
WHERE s.client_id = @client_id AND s.department_id = d.department_id AND s.business_date = d.business_date;
