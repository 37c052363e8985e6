-- name: ConnectionGet :one
SELECT * FROM connections WHERE client_id = @client_id;

-- ConnectionLock takes the row lock that serialises every change of a connection (refresh,
-- consent, enable, disconnect) across all replicas.
-- name: ConnectionLock :one
SELECT * FROM connections WHERE client_id = @client_id FOR UPDATE;

-- name: ConnectionPut :exec
INSERT INTO connections (
    client_id, status, provider, account_id, enabled, consent_subject, consent_time, enable_time,
    last_refresh_time, last_error, last_error_time, generation,
    access_token_enc, access_token_kid, refresh_token_enc, refresh_token_kid, access_expire_time, update_time
) VALUES (
    @client_id, @status, @provider, @account_id, @enabled, @consent_subject, @consent_time, @enable_time,
    @last_refresh_time, @last_error, @last_error_time, @generation,
    @access_token_enc, @access_token_kid, @refresh_token_enc, @refresh_token_kid, @access_expire_time, @update_time
)
ON CONFLICT (client_id) DO UPDATE SET
    status = EXCLUDED.status, provider = EXCLUDED.provider, account_id = EXCLUDED.account_id,
    enabled = EXCLUDED.enabled, consent_subject = EXCLUDED.consent_subject,
    consent_time = EXCLUDED.consent_time, enable_time = EXCLUDED.enable_time,
    last_refresh_time = EXCLUDED.last_refresh_time, last_error = EXCLUDED.last_error,
    last_error_time = EXCLUDED.last_error_time, generation = EXCLUDED.generation,
    access_token_enc = EXCLUDED.access_token_enc, access_token_kid = EXCLUDED.access_token_kid,
    refresh_token_enc = EXCLUDED.refresh_token_enc, refresh_token_kid = EXCLUDED.refresh_token_kid,
    access_expire_time = EXCLUDED.access_expire_time, update_time = EXCLUDED.update_time;

-- name: ConnectionList :many
SELECT * FROM connections
WHERE (sqlc.narg('status')::smallint IS NULL OR status = sqlc.narg('status')::smallint)
  AND client_id > @after
ORDER BY client_id
LIMIT @max_rows;

-- ConnectionListStale lists the connections whose tokens are not under the key key_id.
-- name: ConnectionListStale :many
SELECT client_id FROM connections
WHERE access_token_enc IS NOT NULL AND (access_token_kid <> @key_id::text OR refresh_token_kid <> @key_id::text)
ORDER BY client_id;

-- ConnectionCountByStatus counts the connections per status for the metrics. NOT_CONNECTED (1)
-- counts the clients with a consent in progress that never connected: a client unknown to the
-- auth service is not counted anywhere.
-- name: ConnectionCountByStatus :many
SELECT status, count(*)::bigint AS connections FROM connections GROUP BY status
UNION ALL
SELECT 1::smallint, count(DISTINCT s.client_id)::bigint FROM connect_states s
WHERE s.expire_time > now() AND NOT EXISTS (SELECT 1 FROM connections c WHERE c.client_id = s.client_id);
