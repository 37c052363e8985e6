-- name: DayStatusEnsure :exec
INSERT INTO day_status (client_id, department_id, business_date)
SELECT @client_id::text, @department_id::text, d::date
FROM generate_series(@from_date::date, @until_date::date, interval '1 day') AS d
ORDER BY d
ON CONFLICT DO NOTHING;

-- name: DayStatusLock :many
-- Locks in date order, as every transaction does, so two of them never wait on each other.
SELECT * FROM day_status
WHERE client_id = @client_id AND department_id = @department_id
  AND business_date BETWEEN @from_date::date AND @until_date::date
ORDER BY business_date
FOR UPDATE;

-- name: BalanceRange :many
-- The read path: each day's status with its per-field sums and the period's total per field,
-- in one statement so that status and values come from one snapshot. A day without values
-- has one row with a NULL field_id. The hours come as one comma-separated text (decimals hold
-- no commas), stored so at write time: a text[] cost one allocation per hour to decode, 1,000
-- of a week's 1,700, and formatting the numeric[] on every read a sixth of the statement.
-- The department's freshness comes along as two uncorrelated subqueries (evaluated once), so the
-- read stays one round trip. A range without any day row answers no row, and the caller reads
-- the freshness on its own (FreshnessGet).
SELECT s.business_date, s.status, s.approved_by, s.approve_time, s.import_finished, s.auto_confirmed,
       s.registers_imported, s.partial, s.corrections_pending, v.field_id,
       coalesce(v.hours_text, '')::text AS hours, coalesce(v.total::text, '')::text AS total,
       coalesce((sum(v.total) OVER (PARTITION BY v.field_id))::text, '')::text AS period_total,
       count(v.total) OVER (PARTITION BY v.field_id) AS period_days,
       (SELECT f.complete_through FROM department_freshness f
        WHERE f.client_id = @client_id AND f.department_id = @department_id)::date AS complete_through,
       (SELECT f.last_import_time FROM department_freshness f
        WHERE f.client_id = @client_id AND f.department_id = @department_id)::timestamptz AS last_import_time
FROM day_status s
LEFT JOIN day_values v USING (client_id, department_id, business_date)
WHERE s.client_id = @client_id AND s.department_id = @department_id
  AND s.business_date BETWEEN @from_date::date AND @until_date::date
ORDER BY s.business_date, v.field_id;

-- name: DayStatusApprove :execrows
UPDATE day_status
SET status = 2, approved_by = @approved_by, approve_time = @approve_time, approved_version = version, update_time = now()
WHERE client_id = @client_id AND department_id = @department_id
  AND business_date BETWEEN @from_date::date AND @until_date::date
  AND status = 1;

-- name: DayStatusReopen :execrows
UPDATE day_status
SET status = 1, approved_by = '', approve_time = NULL, approved_version = NULL, reopened = true, update_time = now()
WHERE client_id = @client_id AND department_id = @department_id
  AND business_date BETWEEN @from_date::date AND @until_date::date
  AND status = 2;

-- name: DayStatusMarkImportedRanges :exec
-- Each range's days as finished by its import; the ranges' departments are distinct. Partial
-- days (today so far) are never marked: they are not complete.
UPDATE day_status s
SET import_finished = true, finished_import_id = r.import_id, update_time = now()
FROM (
    SELECT unnest(@department_ids::text[]) AS department_id, unnest(@from_dates::date[]) AS from_date,
           unnest(@until_dates::date[]) AS until_date, unnest(@import_ids::text[]) AS import_id
) r
WHERE s.client_id = @client_id AND s.department_id = r.department_id
  AND s.business_date BETWEEN r.from_date AND r.until_date
  AND NOT s.partial AND NOT (s.import_finished AND s.finished_import_id = r.import_id);

-- name: DayValuesDeleteDays :exec
DELETE FROM day_values
WHERE client_id = @client_id
  AND (department_id, business_date) IN (SELECT unnest(@department_ids::text[]), unnest(@dates::date[]));

-- name: RegisterValuesOfDeptDays :many
-- Every register's values of these department-days, which the store sums into day_values.
SELECT department_id, business_date, field_id, hours::text[] AS hours, total::text AS total
FROM register_values
WHERE client_id = @client_id
  AND (department_id, business_date) IN (SELECT unnest(@department_ids::text[]), unnest(@dates::date[]));

-- name: DayValuesInsertDays :exec
-- The departments' sums over registers, as the store computed them: hours are array literals
-- ("{1.50,0}") and the same values joined by commas (hours_text), one per department-day and field.
INSERT INTO day_values (client_id, department_id, business_date, field_id, hours, hours_text, total)
SELECT @client_id::text, v.department_id, v.business_date, v.field_id, v.hours::numeric[], v.hours_text, v.total::numeric
FROM (
    SELECT unnest(@department_ids::text[]) AS department_id, unnest(@dates::date[]) AS business_date,
           unnest(@field_ids::bigint[]) AS field_id, unnest(@hours::text[]) AS hours,
           unnest(@hours_texts::text[]) AS hours_text, unnest(@totals::text[]) AS total
) v;
