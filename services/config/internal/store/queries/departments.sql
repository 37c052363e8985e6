-- name: DepartmentList :many
SELECT * FROM department_view WHERE client_id = @client_id ORDER BY department_id;

-- name: DepartmentGet :one
SELECT * FROM department_view WHERE client_id = @client_id AND department_id = @department_id;

-- name: DepartmentUpsert :one
INSERT INTO departments (client_id, department_id, name, pos_client_number, time_zone, update_time)
VALUES (@client_id, @department_id, @name, @pos_client_number, @time_zone, now())
ON CONFLICT (client_id, department_id) DO UPDATE SET
    name              = EXCLUDED.name,
    pos_client_number = EXCLUDED.pos_client_number,
    time_zone         = EXCLUDED.time_zone,
    update_time       = now()
RETURNING *;

-- name: DepartmentDelete :execrows
DELETE FROM departments WHERE client_id = @client_id AND department_id = @department_id;

-- name: DepartmentRegistersDelete :exec
DELETE FROM department_registers WHERE client_id = @client_id AND department_id = @department_id;

-- name: DepartmentRegisterInsert :exec
INSERT INTO department_registers (client_id, register_id, department_id, position)
VALUES (@client_id, @register_id, @department_id, @position);

-- name: DepartmentRegisterOwners :many
-- Which other departments of the client already hold any of these registers.
SELECT register_id, department_id FROM department_registers
WHERE client_id = @client_id AND register_id = ANY(@register_ids::text[]) AND department_id <> @department_id
ORDER BY register_id;
