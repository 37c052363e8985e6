-- name: SalesSeenRecord :exec
-- Records the register-days a job read completely and the sales it counted on them, in one
-- statement: a day with sales gets them (the arrays replaced, update_time now, also when the
-- set is the same: the latest read of a sale must win over an older row still holding it); a
-- day read without sales loses its row. A read day of register '' is every register of its
-- location. The store groups the sales by day: a day's sales are the elements firsts..lasts
-- (1-based, inclusive) of the flat arrays, in sale id order, so a set read again unchanged is
-- the same value (the update can stay on its page and leave the index alone). Slicing what the
-- store grouped costs PostgreSQL a fraction of grouping and sorting every sale itself.
WITH days AS (
    SELECT d.location_id, d.register_id, d.business_date,
           (@sale_ids::text[])[d.first:d.last] AS sale_ids, (@completed_ats::timestamptz[])[d.first:d.last] AS completed_ats
    FROM (SELECT unnest(@location_ids::text[]) AS location_id, unnest(@register_ids::text[]) AS register_id,
                 unnest(@dates::date[]) AS business_date, unnest(@firsts::int[]) AS first,
                 unnest(@lasts::int[]) AS last) d
), gone AS (
    DELETE FROM sales_seen_days t
    USING (SELECT unnest(@read_location_ids::text[]) AS location_id, unnest(@read_register_ids::text[]) AS register_id,
                  unnest(@read_dates::date[]) AS business_date) r
    WHERE t.account_key = @account_key::text AND t.location_id = r.location_id AND t.business_date = r.business_date
      AND (r.register_id = '' OR t.register_id = r.register_id)
      AND NOT EXISTS (SELECT 1 FROM days
                      WHERE days.location_id = t.location_id AND days.register_id = t.register_id AND days.business_date = t.business_date)
)
INSERT INTO sales_seen_days (account_key, location_id, register_id, business_date, sale_ids, completed_ats)
SELECT @account_key::text, days.location_id, days.register_id, days.business_date, days.sale_ids, days.completed_ats
FROM days
ORDER BY days.location_id, days.register_id, days.business_date
ON CONFLICT (account_key, location_id, register_id, business_date) DO UPDATE
SET sale_ids = excluded.sale_ids, completed_ats = excluded.completed_ats, update_time = now();

-- name: SalesSeenGet :many
-- Where the given sales of an account were last counted, found through the GIN index on
-- sales_seen_keys: a sale in several rows (it moved, and the day it left was not read again)
-- takes the row updated last (then the later date). The index's keys are COLLATE "C", and so
-- must the expression be for the planner to use it. The keys asked are a subquery, so the
-- planner does not see them: it has no statistics for unique ids and, seeing hundreds, would
-- guess most rows overlap and scan the account's every row instead of the index.
SELECT DISTINCT ON (s.sale_id) s.sale_id::text AS sale_id, s.location_id, s.register_id, s.completed_at::timestamptz AS completed_at
FROM (SELECT d.location_id, d.register_id, d.business_date, d.update_time,
             unnest(d.sale_ids) AS sale_id, unnest(d.completed_ats) AS completed_at
      FROM sales_seen_days d
      WHERE (sales_seen_keys(d.account_key, d.sale_ids) COLLATE "C") && (SELECT sales_seen_keys(@account_key::text, @sale_ids::text[]))
        AND d.account_key = @account_key::text) s
WHERE s.sale_id = ANY(@sale_ids::text[])
ORDER BY s.sale_id, s.update_time DESC, s.business_date DESC;

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
