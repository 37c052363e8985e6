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

-- name: DepartmentsLock :exec
-- Serialises the changes of a client's departments: the rules across departments (a shop
-- imported whole by one department has no registers in another) are checked against a state
-- no concurrent change can alter before the commit.
SELECT pg_advisory_xact_lock(hashtextextended('config.departments:' || @client_id::text, 0));

-- name: DepartmentsOfShop :many
-- The other departments of the client mapped to this POS client number (shop or location),
-- with their registers.
SELECT department_id, register_ids FROM department_view
WHERE client_id = @client_id AND pos_client_number = @pos_client_number AND department_id <> @department_id
ORDER BY department_id;
