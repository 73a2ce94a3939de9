-- Hardship reports, the warnings they raise, and aid cases with their required actions.

CREATE TABLE hardship_reports (
    report_id         uuid PRIMARY KEY,
    household_id      uuid NOT NULL REFERENCES households (household_id),
    jurisdiction_path text NOT NULL,
    kind              smallint NOT NULL,
    amount_fen        bigint NOT NULL CHECK (amount_fen >= 0),
    income_fen        bigint NOT NULL,        -- the household income the rule compared with
    level             smallint NOT NULL,      -- 0 when no rule fired
    reason            text NOT NULL,
    description       text NOT NULL DEFAULT '',
    occurred_at       timestamptz NOT NULL,
    reported_by       text NOT NULL,
    reported_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX hardship_reports_household ON hardship_reports (household_id, reported_at);

CREATE TABLE aid_cases (
    case_id           uuid PRIMARY KEY,
    household_id      uuid NOT NULL REFERENCES households (household_id),
    jurisdiction_path text NOT NULL,
    level             smallint NOT NULL CHECK (level BETWEEN 1 AND 3),
    status            smallint NOT NULL DEFAULT 1,
    actions           jsonb NOT NULL DEFAULT '[]',
    outcome           text NOT NULL DEFAULT '',
    opened_at         timestamptz NOT NULL DEFAULT now(),
    resolved_at       timestamptz,
    version           bigint NOT NULL DEFAULT 1
);
-- At most one open case per household: a new warning raises it instead of opening another.
CREATE UNIQUE INDEX aid_cases_one_open ON aid_cases (household_id) WHERE status = 1;
CREATE INDEX aid_cases_path ON aid_cases (jurisdiction_path text_pattern_ops, case_id);

ALTER TABLE hardship_reports ENABLE ROW LEVEL SECURITY;
ALTER TABLE hardship_reports FORCE ROW LEVEL SECURITY;
CREATE POLICY hardship_reports_in_scope ON hardship_reports
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns()))
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
ALTER TABLE aid_cases ENABLE ROW LEVEL SECURITY;
ALTER TABLE aid_cases FORCE ROW LEVEL SECURITY;
CREATE POLICY aid_cases_in_scope ON aid_cases
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns()))
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
