-- Relief is granted on an aid case, and the cap (1.5 x the monthly minimum living standard)
-- holds over all of a case's grants together: the case keeps what it has been granted so far,
-- changed only with the case row locked, in the transaction that writes the grant's ledger row.
-- The ledger becomes append-only for the serving role (as kit_movements): read and insert,
-- nothing else.

ALTER TABLE aid_cases ADD COLUMN relief_granted_fen bigint NOT NULL DEFAULT 0
    CHECK (relief_granted_fen >= 0);

-- What earlier grants gave each case. The tables' owner is under row-level security too
-- (FORCE): this transaction sees every jurisdiction.
SELECT set_config('cdsp.scope', '/%', true);
UPDATE aid_cases c SET relief_granted_fen = g.total_fen
  FROM (SELECT case_id, sum(amount_fen) AS total_fen FROM relief_ledger
         WHERE granted AND case_id IS NOT NULL GROUP BY case_id) g
 WHERE c.case_id = g.case_id;

-- From now on every decision names an existing case (earlier rows may not: NOT VALID).
ALTER TABLE relief_ledger ADD CONSTRAINT relief_ledger_case_required
    CHECK (case_id IS NOT NULL) NOT VALID;
ALTER TABLE relief_ledger ADD CONSTRAINT relief_ledger_case_exists
    FOREIGN KEY (case_id) REFERENCES aid_cases (case_id) NOT VALID;
CREATE INDEX relief_ledger_case ON relief_ledger (case_id, decided_at);

DROP POLICY relief_ledger_in_scope ON relief_ledger;
CREATE POLICY relief_ledger_read ON relief_ledger FOR SELECT
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
CREATE POLICY relief_ledger_append ON relief_ledger FOR INSERT
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
