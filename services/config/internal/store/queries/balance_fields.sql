-- name: FieldList :many
SELECT * FROM balance_fields WHERE client_id = @client_id ORDER BY field_id;

-- name: FieldUpsert :one
INSERT INTO balance_fields (client_id, field_id, name, pos_data_type, split_into_intervals, update_time)
VALUES (@client_id, @field_id, @name, @pos_data_type, @split_into_intervals, now())
ON CONFLICT (client_id, field_id) DO UPDATE SET
    name                 = EXCLUDED.name,
    pos_data_type        = EXCLUDED.pos_data_type,
    split_into_intervals = EXCLUDED.split_into_intervals,
    update_time          = now()
RETURNING *;

-- name: FieldDelete :execrows
DELETE FROM balance_fields WHERE client_id = @client_id AND field_id = @field_id;

-- name: FieldByType :one
-- The field of the client that already receives this POS data type, other than field_id.
SELECT field_id FROM balance_fields
WHERE client_id = @client_id AND pos_data_type = @pos_data_type AND field_id <> @field_id;
