-- name: ScheduleRunClaim :one
-- Claims a run date: the first replica inserts it; another takes over only a claim whose
-- holder let it lapse without finishing.
INSERT INTO schedule_runs (run_date, scheduled_for, claimed_by, claim_until)
VALUES (@run_date, @scheduled_for, @owner, now() + make_interval(secs => @ttl_seconds::float8))
ON CONFLICT (run_date) DO UPDATE SET claimed_by = EXCLUDED.claimed_by, claim_until = EXCLUDED.claim_until
WHERE schedule_runs.done_time IS NULL AND schedule_runs.claim_until < now()
RETURNING *;

-- name: ScheduleRunDone :exec
UPDATE schedule_runs SET done_time = now() WHERE run_date = @run_date AND claimed_by = @owner;

-- name: ScheduleRunClientGet :one
SELECT * FROM schedule_run_clients WHERE run_date = @run_date AND client_id = @client_id;

-- name: ScheduleRunClientInsert :exec
INSERT INTO schedule_run_clients (run_date, client_id, outcome, import_id, detail)
VALUES (@run_date, @client_id, @outcome, @import_id, @detail);

-- name: ScheduleRunList :many
SELECT * FROM schedule_runs ORDER BY run_date;

-- name: ScheduleRunClientList :many
SELECT * FROM schedule_run_clients WHERE run_date = @run_date ORDER BY client_id;

-- name: ScheduleRunLatest :one
-- The scheduled start of the latest nightly run; NULL before the first.
SELECT max(scheduled_for)::timestamptz AS scheduled_for FROM schedule_runs;
