-- Minimum necessary (issue 13): nothing in the aid service reads a person's name, phone or
-- guardian's phone, and the registry's general topic no longer carries them. The copies held
-- here are dropped, with their columns. A release before this one writes these columns: rolling
-- the aid service back across this migration needs the database restored as well (README,
-- Deploying: migrations are forward-only).
ALTER TABLE persons DROP COLUMN name, DROP COLUMN phone, DROP COLUMN guardian_phone;
