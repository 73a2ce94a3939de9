-- Temporary relief: each community's annual budget and the ledger of every decision (grants and
-- refusals alike), which the quarterly check with civil affairs and medical insurance exports.

CREATE TABLE relief_budgets (
    community_path text NOT NULL,
    year           integer NOT NULL,
    total_fen      bigint NOT NULL CHECK (total_fen >= 0),
    granted_fen    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (community_path, year),
    -- The database itself refuses an overdrawn budget, whatever the code does.
    CHECK (granted_fen >= 0 AND granted_fen <= total_fen)
);

CREATE TABLE relief_ledger (
    decision_id          uuid PRIMARY KEY,
    household_id         uuid NOT NULL REFERENCES households (household_id),
    jurisdiction_path    text NOT NULL,
    community_path       text NOT NULL,
    year                 integer NOT NULL,
    case_id              uuid,
    amount_fen           bigint NOT NULL CHECK (amount_fen > 0),
    granted              boolean NOT NULL,
    refusal_limit        text,              -- per_case_cap | annual_budget
    excess_fen           bigint NOT NULL DEFAULT 0,
    cap_fen              bigint NOT NULL,
    budget_remaining_fen bigint NOT NULL,   -- after the decision
    reason               text NOT NULL,
    decided_by           text NOT NULL,
    decided_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX relief_ledger_path ON relief_ledger (jurisdiction_path text_pattern_ops, decided_at);

ALTER TABLE relief_budgets ENABLE ROW LEVEL SECURITY;
ALTER TABLE relief_budgets FORCE ROW LEVEL SECURITY;
CREATE POLICY relief_budgets_in_scope ON relief_budgets
    USING (community_path LIKE ANY (cdsp_scope_patterns()))
    WITH CHECK (community_path LIKE ANY (cdsp_scope_patterns()));
ALTER TABLE relief_ledger ENABLE ROW LEVEL SECURITY;
ALTER TABLE relief_ledger FORCE ROW LEVEL SECURITY;
CREATE POLICY relief_ledger_in_scope ON relief_ledger
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns()))
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
