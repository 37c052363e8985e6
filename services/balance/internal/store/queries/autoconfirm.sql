-- name: AutoConfirmClaim :execrows
INSERT INTO auto_confirm_runs (client_id, local_date, run_time, days_approved)
VALUES (@client_id, @local_date, @run_time, 0)
ON CONFLICT DO NOTHING;

-- name: AutoConfirmLockDue :many
-- Locks the days to approve in (department, date) order, the order every transaction uses.
SELECT department_id, business_date FROM day_status
WHERE client_id = @client_id AND business_date <= @until_date::date
  AND status = 1 AND import_finished AND NOT auto_confirmed AND NOT reopened AND NOT partial
ORDER BY department_id, business_date
FOR UPDATE;

-- name: AutoConfirmApprove :execrows
UPDATE day_status
SET status = 2, approved_by = 'auto-confirm', approve_time = @approve_time, approved_version = version,
    auto_confirmed = true, update_time = now()
WHERE client_id = @client_id AND business_date <= @until_date::date
  AND status = 1 AND import_finished AND NOT auto_confirmed AND NOT reopened AND NOT partial;

-- name: AutoConfirmRecord :exec
UPDATE auto_confirm_runs SET days_approved = @days_approved
WHERE client_id = @client_id AND local_date = @local_date;

-- name: AutoConfirmRunsList :many
SELECT * FROM auto_confirm_runs WHERE client_id = @client_id ORDER BY local_date;
