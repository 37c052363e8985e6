-- name: ClientSettingsGet :one
SELECT * FROM client_settings WHERE client_id = @client_id;

-- name: ClientSettingsUpsert :one
INSERT INTO client_settings (
    client_id, multi_cash_registers, pos_import_enabled, pos_provider,
    auto_confirm_weekly_balance, confirm_time, time_zone, intraday_refresh_minutes, update_time
) VALUES (
    @client_id, @multi_cash_registers, @pos_import_enabled, @pos_provider,
    @auto_confirm_weekly_balance, @confirm_time, @time_zone, @intraday_refresh_minutes, now()
)
ON CONFLICT (client_id) DO UPDATE SET
    multi_cash_registers        = EXCLUDED.multi_cash_registers,
    pos_import_enabled          = EXCLUDED.pos_import_enabled,
    pos_provider                = EXCLUDED.pos_provider,
    auto_confirm_weekly_balance = EXCLUDED.auto_confirm_weekly_balance,
    confirm_time                = EXCLUDED.confirm_time,
    time_zone                   = EXCLUDED.time_zone,
    intraday_refresh_minutes    = EXCLUDED.intraday_refresh_minutes,
    update_time                 = now()
RETURNING *;

-- name: ClientSettingsList :many
SELECT * FROM client_settings
WHERE client_id > @after
  AND (NOT @pos_import_enabled_only::boolean OR pos_import_enabled)
  AND (@all_clients::boolean OR client_id = ANY(@client_ids::text[]))
ORDER BY client_id
LIMIT @max_rows;
