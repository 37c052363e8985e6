-- Queries of WriteDays, the one write path (WriteDay is WriteDays of one day): one register's
-- consecutive days of one job, each statement for all of them, so a month costs about as many
-- round trips as a day.

-- name: RegisterDaysOfRange :many
SELECT business_date, version, partial FROM register_days
WHERE client_id = @client_id AND department_id = @department_id AND register_id = @register_id
  AND business_date BETWEEN @from_date::date AND @until_date::date;

-- name: RegisterValuesOfRange :many
SELECT business_date, field_id, hours::text[] AS hours, total::text AS total
FROM register_values
WHERE client_id = @client_id AND department_id = @department_id AND register_id = @register_id
  AND business_date BETWEEN @from_date::date AND @until_date::date
ORDER BY business_date, field_id;

-- name: RegisterValuesDeleteDays :exec
DELETE FROM register_values
WHERE client_id = @client_id AND department_id = @department_id AND register_id = @register_id
  AND business_date = ANY(@dates::date[]);

-- name: RegisterDaysUpsertDays :many
-- partials holds each date's partial flag, in the order of dates.
INSERT INTO register_days (
    client_id, department_id, business_date, register_id, time_zone, import_id, job_id, fencing_token, version, write_time, partial
)
SELECT @client_id::text, @department_id::text, d.business_date, @register_id::text, @time_zone::text, @import_id::text,
       @job_id::text, @fencing_token::bigint, 1, @write_time::timestamptz, d.partial
FROM (SELECT unnest(@dates::date[]) AS business_date, unnest(@partials::boolean[]) AS partial) d
ON CONFLICT (client_id, department_id, business_date, register_id) DO UPDATE
SET time_zone = EXCLUDED.time_zone, import_id = EXCLUDED.import_id, job_id = EXCLUDED.job_id,
    fencing_token = EXCLUDED.fencing_token, version = register_days.version + 1, write_time = EXCLUDED.write_time,
    partial = EXCLUDED.partial
RETURNING business_date, version;

-- name: RegisterValuesInsertDays :exec
-- hours are array literals ("{1.50,0}"), one per day and field, already validated as decimals.
INSERT INTO register_values (client_id, department_id, business_date, register_id, field_id, hours, total)
SELECT @client_id::text, @department_id::text, v.business_date, @register_id::text,
       v.field_id, v.hours::numeric[], v.total::numeric
FROM (
    SELECT unnest(@dates::date[]) AS business_date, unnest(@field_ids::bigint[]) AS field_id,
           unnest(@hours::text[]) AS hours, unnest(@totals::text[]) AS total
) v;

-- name: DayStatusWrittenDays :exec
-- After a register's values changed on these days: one more version each, the number of
-- registers with data, and whether any of them holds the day so far.
UPDATE day_status s
SET version = s.version + 1,
    registers_imported = (
        SELECT count(*) FROM register_days r
        WHERE r.client_id = s.client_id AND r.department_id = s.department_id AND r.business_date = s.business_date),
    partial = EXISTS (
        SELECT 1 FROM register_days r
        WHERE r.client_id = s.client_id AND r.department_id = s.department_id AND r.business_date = s.business_date
          AND r.partial),
    update_time = now()
WHERE s.client_id = @client_id AND s.department_id = @department_id AND s.business_date = ANY(@dates::date[]);
