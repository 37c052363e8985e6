-- +goose Up
-- The values tables give up their foreign keys. Only the write path (WriteBatch) inserts
-- register_values and day_values: it does so in the transaction that has locked the
-- department-day (day_status) and upserted the register-day (register_days) just before, and no
-- statement deletes a register-day or a day. The checks therefore never refused anything, yet
-- each inserted value row paid one (a lookup and a row lock on its parent): 210 of them a client's
-- nightly run, about a twentieth of the balance's PostgreSQL time. Every balanceservice test
-- checks at its end that every value row still has its register-day and day (valuesHaveParents).
ALTER TABLE register_values DROP CONSTRAINT register_values_client_id_department_id_business_date_regi_fkey;
ALTER TABLE day_values DROP CONSTRAINT day_values_client_id_department_id_business_date_fkey;

-- +goose Down
ALTER TABLE day_values ADD CONSTRAINT day_values_client_id_department_id_business_date_fkey
    FOREIGN KEY (client_id, department_id, business_date) REFERENCES day_status;
ALTER TABLE register_values ADD CONSTRAINT register_values_client_id_department_id_business_date_regi_fkey
    FOREIGN KEY (client_id, department_id, business_date, register_id) REFERENCES register_days ON DELETE CASCADE;
