-- name: IntradaySlotClaim :one
-- Claims a client's refresh slot: only the first replica inserts it.
INSERT INTO intraday_slots (client_id, slot, claimed_by)
VALUES (@client_id, @slot, @owner)
ON CONFLICT (client_id, slot) DO NOTHING
RETURNING client_id;

-- name: IntradaySlotStarted :exec
UPDATE intraday_slots SET import_id = @import_id WHERE client_id = @client_id AND slot = @slot;
