-- name: JobFenceAdvance :one
-- Returns the highest token seen for the job, this one included: a result above the request's
-- token means a newer attempt already wrote.
INSERT INTO job_fences (client_id, job_id, fencing_token)
VALUES (@client_id, @job_id, @fencing_token)
ON CONFLICT (client_id, job_id) DO UPDATE
SET fencing_token = greatest(job_fences.fencing_token, EXCLUDED.fencing_token)
RETURNING fencing_token;

-- name: RegisterDaysOfDay :many
SELECT * FROM register_days
WHERE client_id = @client_id AND department_id = @department_id AND business_date = @business_date
ORDER BY register_id;

-- name: RegisterValuesOfDay :many
SELECT register_id, field_id, hours::text[] AS hours, total::text AS total
FROM register_values
WHERE client_id = @client_id AND department_id = @department_id AND business_date = @business_date
ORDER BY register_id, field_id;

