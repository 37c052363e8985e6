-- Corrections of approved register-days and the audit of changes to approved days. Every
-- statement that changes a correction runs under the day's lock (day_status FOR UPDATE), as
-- the writes do.

-- name: CorrectionsPendingOfDays :many
SELECT correction_id::text AS correction_id, department_id, register_id, business_date, after_values FROM corrections
WHERE client_id = @client_id
  AND (department_id, register_id, business_date) IN (
      SELECT unnest(@department_ids::text[]), unnest(@register_ids::text[]), unnest(@dates::date[]))
  AND state = 1;

-- name: CorrectionInsert :one
INSERT INTO corrections (
    client_id, department_id, business_date, register_id, time_zone, before_values, after_values,
    import_id, job_id, fencing_token, cause_reason, cause_sale_ids, cause_sale_count, create_time, update_time
) VALUES (
    @client_id, @department_id, @business_date, @register_id, @time_zone, @before_values, @after_values,
    @import_id, @job_id, @fencing_token, @cause_reason, @cause_sale_ids, @cause_sale_count, @now, @now
)
RETURNING correction_id::text AS correction_id;

-- name: CorrectionReplaceAfter :exec
-- A newer import's values replace "after" and the cause; "before" stays the approved values.
UPDATE corrections
SET after_values = @after_values, import_id = @import_id, job_id = @job_id, fencing_token = @fencing_token,
    cause_reason = @cause_reason, cause_sale_ids = @cause_sale_ids, cause_sale_count = @cause_sale_count,
    update_time = @now
WHERE client_id = @client_id AND correction_id = (@correction_id::text)::uuid AND state = 1;

-- name: CorrectionsWithdraw :exec
UPDATE corrections SET state = 4, resolve_time = @now
WHERE client_id = @client_id AND correction_id = ANY((@correction_ids::text[])::uuid[]) AND state = 1;

-- name: DayStatusCountCorrections :exec
-- The department-days' counts of pending corrections, rewritten only where they changed.
UPDATE day_status s
SET corrections_pending = c.pending, update_time = now()
FROM (
    SELECT d.department_id, d.business_date, (
        SELECT count(*) FROM corrections c
        WHERE c.client_id = @client_id AND c.department_id = d.department_id AND c.business_date = d.business_date
          AND c.state = 1) AS pending
    FROM (SELECT unnest(@department_ids::text[]) AS department_id, unnest(@dates::date[]) AS business_date) d
) c
WHERE s.client_id = @client_id AND s.department_id = c.department_id AND s.business_date = c.business_date
  AND s.corrections_pending <> c.pending;

-- name: CorrectionGet :one
SELECT client_id, correction_id::text AS correction_id, department_id, business_date, register_id, time_zone, state,
       before_values, after_values, import_id, job_id, fencing_token, cause_reason, cause_sale_ids, cause_sale_count,
       create_time, update_time, resolve_time, resolved_by
FROM corrections
WHERE client_id = @client_id AND correction_id = (@correction_id::text)::uuid;

-- name: CorrectionResolve :execrows
UPDATE corrections SET state = @state, resolve_time = @now, resolved_by = @resolved_by
WHERE client_id = @client_id AND correction_id = (@correction_id::text)::uuid AND state = 1;

-- name: CorrectionList :many
-- Newest first; a page starts below the previous page's last seq (0: the first page).
SELECT client_id, correction_id::text AS correction_id, seq, department_id, business_date, register_id, time_zone, state,
       before_values, after_values, import_id, job_id, fencing_token, cause_reason, cause_sale_ids, cause_sale_count,
       create_time, update_time, resolve_time, resolved_by
FROM corrections
WHERE client_id = @client_id
  AND (@department_id::text = '' OR department_id = @department_id)
  AND (@state::smallint = 0 OR state = @state)
  AND (@before_seq::bigint = 0 OR seq < @before_seq)
ORDER BY seq DESC
LIMIT @max_rows;

-- name: CorrectionsPendingOfDay :many
SELECT register_id, correction_id::text AS correction_id FROM corrections
WHERE client_id = @client_id AND department_id = @department_id AND business_date = @business_date AND state = 1
ORDER BY register_id;

-- name: DayStatusKeepApproval :exec
-- A supervisor applied a correction: the day's approval covers its new values.
UPDATE day_status SET approved_version = version
WHERE client_id = @client_id AND department_id = @department_id AND business_date = @business_date AND status = 2;

-- name: AuditInsert :exec
INSERT INTO audit_records (
    client_id, action, actor, record_time, department_id, business_date, register_id, time_zone, changes,
    correction_id, import_id, job_id
) VALUES (
    @client_id, @action, @actor, @record_time, @department_id, @business_date, @register_id, @time_zone, @changes,
    (sqlc.narg('correction_id')::text)::uuid, @import_id, @job_id
);

-- name: AuditList :many
SELECT audit_id::text AS audit_id, seq, action, actor, record_time, department_id, business_date, register_id, time_zone,
       changes, coalesce(correction_id::text, '')::text AS correction_id, import_id, job_id
FROM audit_records
WHERE client_id = @client_id
  AND (@department_id::text = '' OR department_id = @department_id)
  AND (@before_seq::bigint = 0 OR seq < @before_seq)
ORDER BY seq DESC
LIMIT @max_rows;
