-- name: JobsInsert :exec
-- An import's jobs in one statement; a nil group id (all zeros) is a job alone, and a job
-- published is claimed for publication as it is stored (it fits in the client's window). The
-- arrays unnest in the select list, one row after the other in their order, which gives the
-- jobs their seq (the fair queue's order) in the arrays' order, as one insert per job did.
INSERT INTO jobs (job_id, import_id, client_id, department_id, register_id, location_id, time_zone,
                  from_date, until_date, group_id, priority, published_at)
SELECT j.job_id, @import_id, @client_id, j.department_id, j.register_id, j.location_id, j.time_zone,
       j.from_date, j.until_date, nullif(j.group_id, '00000000-0000-0000-0000-000000000000'::uuid), j.priority,
       CASE WHEN j.published THEN now() END
FROM (SELECT unnest(@job_ids::uuid[]) AS job_id, unnest(@department_ids::text[]) AS department_id,
             unnest(@register_ids::text[]) AS register_id, unnest(@location_ids::text[]) AS location_id,
             unnest(@time_zones::text[]) AS time_zone, unnest(@from_dates::date[]) AS from_date,
             unnest(@until_dates::date[]) AS until_date, unnest(@group_ids::uuid[]) AS group_id,
             unnest(@priorities::smallint[]) AS priority, unnest(@published::boolean[]) AS published) j;

-- name: JobGetForLease :one
-- Locks the job for the lease decision and reads the database clock the lease is judged by.
SELECT j.*, i.overwrite_approved, i.partial, i.cancel_time, i.created_by, i.trigger, now()::timestamptz AS db_now
FROM jobs j JOIN imports i USING (import_id)
WHERE j.job_id = @job_id
FOR UPDATE OF j;

-- name: JobRunningCount :one
-- Jobs of a client holding a live lease, but the one asking; a location group counts once
-- (its lead).
SELECT count(*)::int FROM jobs
WHERE client_id = @client_id AND state = 'RUNNING' AND lease_until > now() AND job_id <> @job_id
  AND (group_id IS NULL OR group_id = job_id);

-- name: JobLease :one
-- Takes the lease: the attempt number grows and becomes the fencing token; the counters of the
-- previous attempt are reset because this one recomputes every day.
UPDATE jobs SET attempt = attempt + 1, state = 'RUNNING', lease_owner = @owner,
    lease_until = now() + make_interval(secs => @ttl_seconds::float8),
    start_time = coalesce(start_time, now()), update_time = now(),
    days_written = 0, days_unchanged = 0, days_skipped_approved = 0, sales_counted = 0, requests_made = 0
WHERE job_id = @job_id AND state IN ('PENDING', 'RUNNING')
RETURNING attempt;

-- name: JobLeaseMembers :many
-- Takes the lease of a location group's members with their lead's (the lead's row lock
-- serialises it): each member's attempt grows, its own fencing token.
UPDATE jobs SET attempt = attempt + 1, state = 'RUNNING', lease_owner = @owner,
    lease_until = now() + make_interval(secs => @ttl_seconds::float8),
    start_time = coalesce(start_time, now()), update_time = now(),
    days_written = 0, days_unchanged = 0, days_skipped_approved = 0, sales_counted = 0, requests_made = 0
WHERE group_id = @lead_id AND job_id <> @lead_id AND state IN ('PENDING', 'RUNNING')
RETURNING *;

-- name: JobsFailMembersUnleased :many
-- Ends a group's members with their lead when the lead cannot be leased any more.
UPDATE jobs SET state = 'FAILED', last_error = @last_error, lease_owner = '', lease_until = NULL,
    finish_time = now(), update_time = now()
WHERE group_id = @lead_id AND job_id <> @lead_id AND state IN ('PENDING', 'RUNNING')
RETURNING *;

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

-- name: JobsFinish :many
-- Ends jobs (each DONE, SKIPPED, FAILED or CANCELLED, with its counters) that their attempts
-- still hold, in one statement, and returns the clients of those it ended: a job missing from
-- the answer was taken over.
UPDATE jobs j SET state = e.state, days_written = e.days_written, days_unchanged = e.days_unchanged,
    days_skipped_approved = e.days_skipped_approved, sales_counted = e.sales_counted,
    requests_made = e.requests_made, last_error = e.last_error,
    lease_owner = '', lease_until = NULL, finish_time = now(), update_time = now()
FROM (SELECT unnest(@job_ids::uuid[]) AS job_id, unnest(@attempts::int[]) AS attempt,
             unnest(@states::text[]) AS state, unnest(@days_written::int[]) AS days_written,
             unnest(@days_unchanged::int[]) AS days_unchanged,
             unnest(@days_skipped_approved::int[]) AS days_skipped_approved,
             unnest(@sales_counted::bigint[]) AS sales_counted, unnest(@requests_made::bigint[]) AS requests_made,
             unnest(@last_errors::text[]) AS last_error) e
WHERE j.job_id = e.job_id AND j.attempt = e.attempt AND j.state = 'RUNNING'
RETURNING j.client_id;

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

-- name: JobsInWindow :one
-- A client's jobs published and not ended: in the stream, or running.
SELECT count(*)::int FROM jobs
WHERE client_id = @client_id AND state IN ('PENDING', 'RUNNING') AND published_at IS NOT NULL;

-- name: JobsClaimNext :many
-- Claims for publication a client's waiting jobs of the highest priority (an intraday refresh),
-- then the oldest (in the order they were stored), at most max_jobs. Rows another
-- transaction holds (an import being cancelled) are skipped, not waited for. The caller holds
-- the client's lock.
UPDATE jobs SET published_at = now()
WHERE job_id IN (
    SELECT w.job_id FROM jobs w
    WHERE w.client_id = @client_id AND w.state = 'PENDING' AND w.published_at IS NULL
      AND (w.group_id IS NULL OR w.group_id = w.job_id)
    ORDER BY w.priority DESC, w.seq
    LIMIT @max_jobs
    FOR UPDATE SKIP LOCKED
)
RETURNING job_id, seq, priority;

-- name: ClientsWaiting :many
-- Clients with a job waiting for publication for longer than min_age while their window has
-- room: what a missed claim leaves behind (the reconciler's sweep).
SELECT client_id FROM jobs
WHERE state IN ('PENDING', 'RUNNING')
GROUP BY client_id
HAVING count(*) FILTER (WHERE published_at IS NOT NULL) < @window_size::int
   AND bool_or(published_at IS NULL AND create_time < now() - make_interval(secs => @min_age_seconds::float8)
               AND (group_id IS NULL OR group_id = job_id))
ORDER BY client_id
LIMIT @max_rows;

-- name: JobsOpenCount :one
-- A client's jobs not ended: its queued work.
SELECT count(*)::int FROM jobs WHERE client_id = @client_id AND state IN ('PENDING', 'RUNNING');

-- name: JobsStale :many
-- Jobs that may have lost their message: pending long after publication, or running with a
-- lease that ran out. A group's members have no message: their lead stands for them.
SELECT job_id FROM jobs
WHERE ((state = 'PENDING' AND published_at < now() - make_interval(secs => @grace_seconds::float8))
    OR (state = 'RUNNING' AND lease_until < now() - make_interval(secs => @grace_seconds::float8)))
  AND (group_id IS NULL OR group_id = job_id)
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

-- name: ImportOpenJobs :one
-- An import's jobs not ended, and those of some of its departments: whether a job's end may
-- have completed a department or the import. Read under the client's lock, after the end's
-- update, so that of concurrent ends of a client's jobs the last sees all of them ended.
SELECT count(*)::int AS import_open,
       (count(*) FILTER (WHERE department_id = ANY(@department_ids::text[])))::int AS departments_open
FROM jobs WHERE import_id = @import_id AND state IN ('PENDING', 'RUNNING');
