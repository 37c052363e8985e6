-- name: JobInsert :exec
INSERT INTO jobs (job_id, import_id, client_id, department_id, register_id, location_id, time_zone,
                  from_date, until_date)
VALUES (@job_id, @import_id, @client_id, @department_id, @register_id, @location_id, @time_zone,
        @from_date, @until_date);

-- name: JobGetForLease :one
-- Locks the job for the lease decision and reads the database clock the lease is judged by.
SELECT j.*, i.overwrite_approved, i.cancel_time, now()::timestamptz AS db_now
FROM jobs j JOIN imports i USING (import_id)
WHERE j.job_id = @job_id
FOR UPDATE OF j;

-- name: JobRunningCount :one
-- Jobs of a client holding a live lease, but the one asking.
SELECT count(*)::int FROM jobs
WHERE client_id = @client_id AND state = 'RUNNING' AND lease_until > now() AND job_id <> @job_id;

-- name: JobLease :one
-- Takes the lease: the attempt number grows and becomes the fencing token; the counters of the
-- previous attempt are reset because this one recomputes every day.
UPDATE jobs SET attempt = attempt + 1, state = 'RUNNING', lease_owner = @owner,
    lease_until = now() + make_interval(secs => @ttl_seconds::float8),
    start_time = coalesce(start_time, now()), update_time = now(),
    days_written = 0, days_unchanged = 0, days_skipped_approved = 0, sales_counted = 0, requests_made = 0
WHERE job_id = @job_id AND state IN ('PENDING', 'RUNNING')
RETURNING attempt;

-- name: JobsExtendLeases :many
-- The heartbeat of a process: extends the leases of all the jobs it runs in one statement and
-- returns those still held by the given attempts (a job missing was taken over).
UPDATE jobs j SET lease_until = now() + make_interval(secs => @ttl_seconds::float8), update_time = now()
FROM (SELECT unnest(@job_ids::uuid[]) AS job_id, unnest(@attempts::int[]) AS attempt) h
WHERE j.job_id = h.job_id AND j.attempt = h.attempt AND j.state = 'RUNNING'
RETURNING j.job_id;

-- name: JobProgress :execrows
-- Records the counters so far; no row means the lease was lost.
UPDATE jobs SET days_written = @days_written, days_unchanged = @days_unchanged,
    days_skipped_approved = @days_skipped_approved, sales_counted = @sales_counted,
    requests_made = @requests_made, update_time = now()
WHERE job_id = @job_id AND attempt = @attempt AND state = 'RUNNING';

-- name: JobFinish :execrows
-- Ends the job (DONE, SKIPPED, FAILED or CANCELLED) if this attempt still holds it.
UPDATE jobs SET state = @state, days_written = @days_written, days_unchanged = @days_unchanged,
    days_skipped_approved = @days_skipped_approved, sales_counted = @sales_counted,
    requests_made = @requests_made, last_error = @last_error,
    lease_owner = '', lease_until = NULL, finish_time = now(), update_time = now()
WHERE job_id = @job_id AND attempt = @attempt AND state = 'RUNNING';

-- name: JobFailUnleased :execrows
-- Ends a job that cannot be leased any more (too many attempts, or its message is poison).
UPDATE jobs SET state = 'FAILED', last_error = @last_error, lease_owner = '', lease_until = NULL,
    finish_time = now(), update_time = now()
WHERE job_id = @job_id AND state IN ('PENDING', 'RUNNING') AND (lease_until IS NULL OR lease_until < now());

-- name: JobRelease :execrows
-- Gives the job back for a later attempt.
UPDATE jobs SET state = 'PENDING', lease_owner = '', lease_until = NULL, last_error = @last_error,
    update_time = now()
WHERE job_id = @job_id AND attempt = @attempt AND state = 'RUNNING';

-- name: JobCancelled :one
-- Whether the job's import was cancelled, and whether this attempt still holds the job.
SELECT (i.cancel_time IS NOT NULL)::boolean AS cancelled,
       (j.attempt = @attempt AND j.state = 'RUNNING')::boolean AS held
FROM jobs j JOIN imports i USING (import_id)
WHERE j.job_id = @job_id;

-- name: JobCancelPending :execrows
UPDATE jobs SET state = 'CANCELLED', finish_time = now(), update_time = now()
WHERE import_id = @import_id AND state = 'PENDING';

-- name: JobsMarkPublished :exec
UPDATE jobs SET published_at = now() WHERE job_id = ANY(@job_ids::uuid[]) AND published_at IS NULL;

-- name: JobsUnpublished :many
SELECT job_id FROM jobs
WHERE state = 'PENDING' AND published_at IS NULL AND create_time < now() - make_interval(secs => @min_age_seconds::float8)
ORDER BY create_time, job_id
LIMIT @max_rows;

-- name: JobsStale :many
-- Jobs that may have lost their message: pending long after publication, or running with a
-- lease that ran out.
SELECT job_id FROM jobs
WHERE (state = 'PENDING' AND published_at < now() - make_interval(secs => @grace_seconds::float8))
   OR (state = 'RUNNING' AND lease_until < now() - make_interval(secs => @grace_seconds::float8))
ORDER BY update_time, job_id
LIMIT @max_rows;

-- name: JobClaimRepublish :one
-- One replica claims a re-publication; the count makes the fresh Nats-Msg-Id unique.
UPDATE jobs SET republish_count = republish_count + 1, published_at = now()
WHERE job_id = @job_id AND state IN ('PENDING', 'RUNNING')
  AND (published_at IS NULL OR published_at < now() - make_interval(secs => @grace_seconds::float8))
RETURNING republish_count;

-- name: JobGet :one
SELECT * FROM jobs WHERE job_id = @job_id;

-- name: JobOldestOpenAge :one
-- Seconds since the oldest job not ended (pending or running) was created, on the database's
-- clock, which stamped it; 0 when every job ended.
SELECT coalesce(extract(epoch FROM now() - min(create_time)), 0)::float8 AS age_seconds
FROM jobs WHERE state IN ('PENDING', 'RUNNING');
