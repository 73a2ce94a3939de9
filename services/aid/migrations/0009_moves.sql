-- A person who moves (their household to another grid, or themselves to another household) takes
-- their open work with them: the aid service re-homes it when the registry announces the new
-- path. A kit loan belongs to the lending grid's stock AND concerns the person: it is visible to
-- the grid that lent it (jurisdiction_path) and to the grid the person lives in (person_path),
-- and either may take the item back.
ALTER TABLE kit_loans ADD COLUMN person_path text;
-- The tables' owner is under row-level security too (FORCE): this transaction sees everything.
SELECT set_config('cdsp.scope', '/%', true);
UPDATE kit_loans l SET person_path = coalesce(
    (SELECT p.jurisdiction_path FROM persons p WHERE p.person_id = l.person_id),
    l.jurisdiction_path);
ALTER TABLE kit_loans ALTER COLUMN person_path SET NOT NULL;
CREATE INDEX kit_loans_person_path ON kit_loans (person_path text_pattern_ops);
DROP POLICY kit_loans_in_scope ON kit_loans;
CREATE POLICY kit_loans_in_scope ON kit_loans
    USING (jurisdiction_path LIKE ANY ((SELECT cdsp_scope_patterns())::text[])
           OR person_path LIKE ANY ((SELECT cdsp_scope_patterns())::text[]))
    WITH CHECK (jurisdiction_path LIKE ANY ((SELECT cdsp_scope_patterns())::text[])
                OR person_path LIKE ANY ((SELECT cdsp_scope_patterns())::text[]));
CREATE INDEX service_requests_open_person ON service_requests (person_id) WHERE status < 5;
CREATE INDEX aid_cases_household ON aid_cases (household_id);
