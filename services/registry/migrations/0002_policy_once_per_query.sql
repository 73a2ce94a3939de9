-- Row-level security checks its policy on every row a query reads. Written with the function
-- itself, `LIKE ANY (cdsp_scope_patterns())` is inlined and splits the cdsp.scope setting again
-- for each row; as a sub-select it is an InitPlan, computed once per query. Same rows, same
-- meaning (the employment and volunteer services were written this way from the start).
ALTER POLICY households_in_scope ON households
    USING (jurisdiction_path LIKE ANY ((SELECT cdsp_scope_patterns())::text[]))
    WITH CHECK (jurisdiction_path LIKE ANY ((SELECT cdsp_scope_patterns())::text[]));
ALTER POLICY persons_in_scope ON persons
    USING (jurisdiction_path LIKE ANY ((SELECT cdsp_scope_patterns())::text[]))
    WITH CHECK (jurisdiction_path LIKE ANY ((SELECT cdsp_scope_patterns())::text[]));
ALTER POLICY service_records_in_scope ON service_records
    USING (jurisdiction_path LIKE ANY ((SELECT cdsp_scope_patterns())::text[]))
    WITH CHECK (jurisdiction_path LIKE ANY ((SELECT cdsp_scope_patterns())::text[]));
