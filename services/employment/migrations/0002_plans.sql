-- Vocational assessments and personal plans ("one person, one policy").

CREATE TABLE assessments (
    assessment_id     uuid PRIMARY KEY,
    person_id         uuid NOT NULL REFERENCES candidates,
    jurisdiction_path text NOT NULL,
    scores            jsonb NOT NULL,          -- {indicator: score}
    total_score       smallint NOT NULL CHECK (total_score BETWEEN 0 AND 100),
    note              text NOT NULL DEFAULT '',
    assessed_by       text NOT NULL,
    assessed_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assessments_person ON assessments (person_id, assessed_at DESC);
CREATE INDEX assessments_path ON assessments (jurisdiction_path text_pattern_ops, assessed_at);

-- One current plan per person; every change is a new version, kept in plan_history.
CREATE TABLE plans (
    person_id         uuid PRIMARY KEY REFERENCES candidates,
    plan_id           uuid NOT NULL UNIQUE,
    jurisdiction_path text NOT NULL,
    assessment_id     uuid NOT NULL REFERENCES assessments,
    recommended_track smallint NOT NULL,
    track             smallint NOT NULL CHECK (track BETWEEN 1 AND 4),
    reasons           text[] NOT NULL,
    overridden        boolean NOT NULL DEFAULT false,
    version           bigint NOT NULL DEFAULT 1,
    made_by           text NOT NULL,
    made_at           timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE plan_history (
    plan_id           uuid NOT NULL,
    version           bigint NOT NULL,
    person_id         uuid NOT NULL,
    jurisdiction_path text NOT NULL,
    track             smallint NOT NULL,
    reasons           text[] NOT NULL,
    overridden        boolean NOT NULL,
    made_by           text NOT NULL,
    made_at           timestamptz NOT NULL,
    PRIMARY KEY (plan_id, version)
);

ALTER TABLE assessments ENABLE ROW LEVEL SECURITY;
ALTER TABLE assessments FORCE ROW LEVEL SECURITY;
CREATE POLICY assessments_in_scope ON assessments
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns()))
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
ALTER TABLE plans ENABLE ROW LEVEL SECURITY;
ALTER TABLE plans FORCE ROW LEVEL SECURITY;
CREATE POLICY plans_in_scope ON plans
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns()))
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
ALTER TABLE plan_history ENABLE ROW LEVEL SECURITY;
ALTER TABLE plan_history FORCE ROW LEVEL SECURITY;
CREATE POLICY plan_history_in_scope ON plan_history
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns()))
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
