-- RegisterUpsert records a sighting of a register: a new one is first seen now; a known one is
-- seen again, and its mapping is what the report says. first_import_id comes back so that the
-- caller tells a register first seen by this import (a repeated report included).
-- name: RegisterUpsert :one
INSERT INTO pos_registers (client_id, account_id, location_id, register_id, mapped, first_seen_time, last_seen_time, first_import_id, last_import_id)
VALUES (@client_id, @account_id, @location_id, @register_id, @mapped, @now, @now, @import_id, @import_id)
ON CONFLICT (client_id, account_id, location_id, register_id) DO UPDATE SET
    mapped = EXCLUDED.mapped,
    last_seen_time = greatest(pos_registers.last_seen_time, EXCLUDED.last_seen_time),
    last_import_id = EXCLUDED.last_import_id
RETURNING first_import_id;

-- RegisterDaysPut sets an unmapped register's sales on the given dates: three arrays of one
-- length, unnested in step; the amounts are decimal text.
-- name: RegisterDaysPut :exec
INSERT INTO pos_register_days (client_id, account_id, location_id, register_id, sale_date, sales_count, gross_sales)
SELECT @client_id::text, @account_id::text, @location_id::text, @register_id::text,
       unnest(@sale_dates::date[]), unnest(@sales_counts::bigint[]), unnest(@gross_sales::text[])::numeric
ON CONFLICT (client_id, account_id, location_id, register_id, sale_date) DO UPDATE SET
    sales_count = EXCLUDED.sales_count, gross_sales = EXCLUDED.gross_sales;

-- RegisterDaysDelete forgets a register's sales once a department maps it.
-- name: RegisterDaysDelete :exec
DELETE FROM pos_register_days
WHERE client_id = @client_id AND account_id = @account_id AND location_id = @location_id AND register_id = @register_id;

-- RegisterList lists a client's registers of an account that need a person's eye: those no
-- department maps, with their sales while unmapped, and those first seen since new_since.
-- Ids sort as numbers do when they are numbers.
-- name: RegisterList :many
SELECT r.location_id, r.register_id, r.mapped, r.first_seen_time, r.last_seen_time,
       coalesce(sum(d.sales_count), 0)::bigint AS sales_count,
       coalesce(sum(d.gross_sales), 0)::text AS gross_sales,
       min(d.sale_date)::date AS first_sale_date,
       max(d.sale_date)::date AS last_sale_date
FROM pos_registers r
LEFT JOIN pos_register_days d
    ON d.client_id = r.client_id AND d.account_id = r.account_id AND d.location_id = r.location_id AND d.register_id = r.register_id
WHERE r.client_id = @client_id AND r.account_id = @account_id AND (NOT r.mapped OR r.first_seen_time >= @new_since)
GROUP BY r.client_id, r.account_id, r.location_id, r.register_id
ORDER BY length(r.location_id), r.location_id, length(r.register_id), r.register_id
LIMIT @max_rows;

-- RegisterCountUnmapped counts each client's unmapped registers of its connection's current
-- account, for the metric; clients without any are not listed.
-- name: RegisterCountUnmapped :many
SELECT r.client_id, count(*)::bigint AS registers
FROM pos_registers r
JOIN connections c ON c.client_id = r.client_id AND c.account_id = r.account_id
WHERE NOT r.mapped
GROUP BY r.client_id
ORDER BY r.client_id;
