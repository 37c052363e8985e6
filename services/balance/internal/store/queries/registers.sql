-- name: JobFenceAdvance :one
-- Returns the highest token seen for the job, this one included: a result above the request's
-- token means a newer attempt already wrote.
INSERT INTO job_fences (client_id, job_id, fencing_token)
VALUES (@client_id, @job_id, @fencing_token)
ON CONFLICT (client_id, job_id) DO UPDATE
SET fencing_token = greatest(job_fences.fencing_token, EXCLUDED.fencing_token)
RETURNING fencing_token;

-- name: RegisterDayGet :one
SELECT * FROM register_days
WHERE client_id = @client_id AND department_id = @department_id
  AND business_date = @business_date AND register_id = @register_id;

-- name: RegisterDaysOfDay :many
SELECT * FROM register_days
WHERE client_id = @client_id AND department_id = @department_id AND business_date = @business_date
ORDER BY register_id;

-- name: RegisterDayUpsert :one
INSERT INTO register_days (
    client_id, department_id, business_date, register_id, time_zone, import_id, job_id, fencing_token, version, write_time
) VALUES (
    @client_id, @department_id, @business_date, @register_id, @time_zone, @import_id, @job_id, @fencing_token, 1, @write_time
)
ON CONFLICT (client_id, department_id, business_date, register_id) DO UPDATE
SET time_zone = EXCLUDED.time_zone, import_id = EXCLUDED.import_id, job_id = EXCLUDED.job_id,
    fencing_token = EXCLUDED.fencing_token, version = register_days.version + 1, write_time = EXCLUDED.write_time
RETURNING version;

-- name: RegisterValuesGet :many
SELECT field_id, hours::text[] AS hours, total::text AS total
FROM register_values
WHERE client_id = @client_id AND department_id = @department_id
  AND business_date = @business_date AND register_id = @register_id
ORDER BY field_id;

-- name: RegisterValuesOfDay :many
SELECT register_id, field_id, hours::text[] AS hours, total::text AS total
FROM register_values
WHERE client_id = @client_id AND department_id = @department_id AND business_date = @business_date
ORDER BY register_id, field_id;

-- name: RegisterValuesDelete :exec
DELETE FROM register_values
WHERE client_id = @client_id AND department_id = @department_id
  AND business_date = @business_date AND register_id = @register_id;

-- name: RegisterValuesInsert :exec
-- hours are array literals ("{1.50,0}"), one per field, already validated as decimals.
INSERT INTO register_values (client_id, department_id, business_date, register_id, field_id, hours, total)
SELECT @client_id::text, @department_id::text, @business_date::date, @register_id::text,
       v.field_id, v.hours::numeric[], v.total::numeric
FROM (
    -- Set-returning functions in one select list advance together (PostgreSQL 10+).
    SELECT unnest(@field_ids::bigint[]) AS field_id, unnest(@hours::text[]) AS hours, unnest(@totals::text[]) AS total
) v;
