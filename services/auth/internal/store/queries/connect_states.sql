-- name: StateInsert :exec
INSERT INTO connect_states (state_id, secret_hash, client_id, provider, subject, verifier_enc, verifier_kid, challenge, create_time, expire_time)
VALUES (@state_id, @secret_hash, @client_id, @provider, @subject, @verifier_enc, @verifier_kid, @challenge, @create_time, @expire_time);

-- StateLock locks a state so that one callback alone can use it.
-- name: StateLock :one
SELECT * FROM connect_states WHERE state_id = @state_id FOR UPDATE;

-- name: StateDelete :exec
DELETE FROM connect_states WHERE state_id = @state_id;

-- name: StatePurgeExpired :exec
DELETE FROM connect_states WHERE expire_time < @before;

-- name: StateCountActive :one
SELECT count(*) FROM connect_states WHERE client_id = @client_id AND expire_time > @now;

-- name: StateListStale :many
SELECT state_id FROM connect_states WHERE verifier_kid <> @key_id ORDER BY state_id;

-- name: StateSetVerifier :exec
UPDATE connect_states SET verifier_enc = @verifier_enc, verifier_kid = @verifier_kid WHERE state_id = @state_id;
