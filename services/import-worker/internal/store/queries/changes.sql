-- name: SalesSeenUpsert :exec
-- Records where an import counted sales (the latest import's position wins). A sale seen
-- again where it was (most of a nightly run's: it re-reads yesterday) writes nothing.
INSERT INTO sales_seen (account_key, sale_id, location_id, register_id, completed_at)
SELECT @account_key::text, s.sale_id, s.location_id, s.register_id, s.completed_at
FROM (SELECT unnest(@sale_ids::text[]) AS sale_id, unnest(@location_ids::text[]) AS location_id,
             unnest(@register_ids::text[]) AS register_id, unnest(@completed_ats::timestamptz[]) AS completed_at) s
ON CONFLICT (account_key, sale_id) DO UPDATE SET location_id = excluded.location_id,
    register_id = excluded.register_id, completed_at = excluded.completed_at, update_time = now()
WHERE (sales_seen.location_id, sales_seen.register_id, sales_seen.completed_at)
      IS DISTINCT FROM (excluded.location_id, excluded.register_id, excluded.completed_at);

-- name: SalesSeenGet :many
SELECT sale_id, location_id, register_id, completed_at FROM sales_seen
WHERE account_key = @account_key AND sale_id = ANY(@sale_ids::text[]);

-- name: ChangeWatermark :one
-- The greatest watermark of the account's change listings whose import's jobs all ended DONE
-- or SKIPPED: the days those changes touched are written.
SELECT coalesce(max(s.watermark), '-infinity'::timestamptz)::timestamptz FROM change_scans s
WHERE s.account_key = @account_key
  AND EXISTS (SELECT 1 FROM jobs j WHERE j.import_id = s.import_id)
  AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.import_id = s.import_id AND j.state NOT IN ('DONE', 'SKIPPED'));

-- name: ClientFirstImport :one
-- When the client's first import was created (the first change listing starts there).
SELECT coalesce(min(create_time), '-infinity'::timestamptz)::timestamptz FROM imports WHERE client_id = @client_id;

-- name: ChangeScanInsert :exec
INSERT INTO change_scans (import_id, account_key, since, watermark, changes, requests)
VALUES (@import_id, @account_key, @since, @watermark, @changes, @requests);

-- name: JobDayCauseInsert :exec
INSERT INTO job_day_causes (job_id, day, reason, sale_ids, sale_count)
VALUES (@job_id, @day, @reason, @sale_ids, @sale_count);

-- name: JobsDayCauses :many
-- The day causes of the jobs of a lease (a lead and its group's members).
SELECT job_id, day, reason, sale_ids, sale_count FROM job_day_causes WHERE job_id = ANY(@job_ids::uuid[]) ORDER BY job_id, day;

-- name: JobCorrectionsPending :exec
-- Records the register-days of an attempt left as pending corrections.
UPDATE jobs SET days_correction_pending = @days WHERE job_id = @job_id AND attempt = @attempt;

-- name: ImportCorrectionsPending :one
SELECT coalesce(sum(days_correction_pending), 0)::bigint FROM jobs WHERE import_id = @import_id;
