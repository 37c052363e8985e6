-- name: RateBudgetEnsure :exec
-- Creates the budget, its bucket empty. Every query here takes the current time as
-- sqlc.narg(now); NULL (production) means the database's clock, now(): one clock for every
-- worker process on every host, so their reservations agree. Tests pass a fake clock, which
-- makes the computed send times exact at any load. update_time always records when the row
-- was written, on the database's clock.
INSERT INTO rate_budgets (account_key, tat, next_send, paused_until, bucket_size, drip_rate, burst_max)
VALUES (@account_key, coalesce(sqlc.narg(now)::timestamptz, now()), coalesce(sqlc.narg(now)::timestamptz, now()),
        coalesce(sqlc.narg(now)::timestamptz, now()), @bucket_size, @drip_rate, @burst_max)
ON CONFLICT (account_key) DO NOTHING;

-- name: RateBudgetReserve :one
-- Reserves the send time of one request (GCRA): not before the pause, not closer than the
-- burst gap to the previous request, and not before the modelled level leaves room for cost
-- below the bucket size minus headroom. Every SET expression reads the old row, so the
-- statement is atomic under concurrent callers. Returns how long the caller waits, and the
-- model after the reservation (which spares Observe an UPDATE that would change nothing).
UPDATE rate_budgets SET
    next_send = greatest(clock.now, next_send, paused_until,
                         tat - make_interval(secs => greatest(bucket_size - sqlc.arg(headroom)::float8 - sqlc.arg(cost)::float8, 0) / drip_rate))
                + make_interval(secs => sqlc.arg(burst_window_seconds)::float8 / greatest(burst_max - 1, 1)),
    tat = greatest(tat, clock.now, next_send, paused_until,
                   tat - make_interval(secs => greatest(bucket_size - sqlc.arg(headroom)::float8 - sqlc.arg(cost)::float8, 0) / drip_rate))
          + make_interval(secs => sqlc.arg(cost)::float8 / drip_rate),
    update_time = now()
FROM (SELECT coalesce(sqlc.narg(now)::timestamptz, now()) AS now) AS clock
WHERE account_key = @account_key
RETURNING (next_send - make_interval(secs => sqlc.arg(burst_window_seconds)::float8 / greatest(burst_max - 1, 1)))::timestamptz AS send_at,
          (extract(epoch FROM next_send - clock.now)
           - sqlc.arg(burst_window_seconds)::float8 / greatest(burst_max - 1, 1))::float8 AS wait_seconds,
          tat, bucket_size, drip_rate, burst_max, clock.now::timestamptz AS db_now;

-- name: RateBudgetObserve :exec
-- Takes the bucket's real size and rate from a response, and pushes the schedule out when
-- the reported level is above the modelled one (requests the model did not see). The modelled
-- level, (tat − now) × drip in drips, is kept across a change of drip rate: requests reserved
-- at the initial guess (1 drip/s) must not hold the schedule seconds ahead once the real rate
-- (8/s for 15 registers, or a time-scaled simulator's) is known. next_send moves likewise.
UPDATE rate_budgets SET
    bucket_size = @bucket_size, drip_rate = @drip_rate,
    burst_max = CASE WHEN sqlc.arg(burst_max)::int > 0 THEN sqlc.arg(burst_max)::int ELSE burst_max END,
    tat = greatest(clock.now + (greatest(tat, clock.now) - clock.now) * (drip_rate / sqlc.arg(drip_rate)::float8),
                   clock.now + make_interval(secs => sqlc.arg(level)::float8 / sqlc.arg(drip_rate)::float8)),
    next_send = clock.now + (greatest(next_send, clock.now) - clock.now) * least(drip_rate / sqlc.arg(drip_rate)::float8, 1),
    update_time = now()
FROM (SELECT coalesce(sqlc.narg(now)::timestamptz, now()) AS now) AS clock
WHERE account_key = @account_key;

-- name: RateBudgetPause :exec
UPDATE rate_budgets SET paused_until = greatest(paused_until, sqlc.arg(until)::timestamptz), update_time = now()
WHERE account_key = @account_key;

-- name: RateBudgetGet :one
SELECT * FROM rate_budgets WHERE account_key = @account_key;
