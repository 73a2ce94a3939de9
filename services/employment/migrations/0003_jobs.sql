-- Partner enterprises (with their subsidy agreement) and job posts.

CREATE TABLE employers (
    employer_id         uuid PRIMARY KEY,
    name                text NOT NULL,
    jurisdiction_path   text NOT NULL,
    monthly_subsidy_fen bigint NOT NULL CHECK (monthly_subsidy_fen >= 0),
    agreement_start     date NOT NULL,
    agreement_end       date,
    created_by          text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (agreement_end IS NULL OR agreement_end >= agreement_start)
);
CREATE INDEX employers_path ON employers (jurisdiction_path text_pattern_ops);

CREATE TABLE posts (
    post_id             uuid PRIMARY KEY,
    kind                smallint NOT NULL CHECK (kind BETWEEN 1 AND 4),
    employer_id         uuid REFERENCES employers,
    title               text NOT NULL,
    jurisdiction_path   text NOT NULL,
    track               smallint NOT NULL DEFAULT 0,
    openings            integer NOT NULL CHECK (openings > 0),
    filled              integer NOT NULL DEFAULT 0,
    staggered_hours     boolean NOT NULL DEFAULT false,
    remote              boolean NOT NULL DEFAULT false,
    full_time           boolean NOT NULL DEFAULT true,
    suitable_categories smallint[] NOT NULL DEFAULT '{}',   -- empty: any
    min_grade           smallint NOT NULL DEFAULT 1,        -- 1: any grade; 4: mild only
    minimum_scores      smallint[] NOT NULL DEFAULT '{}',   -- in assessment.toml's order
    monthly_wage_fen    bigint NOT NULL DEFAULT 0 CHECK (monthly_wage_fen >= 0),
    open                boolean NOT NULL DEFAULT true,
    created_by          text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (filled BETWEEN 0 AND openings),
    CHECK (kind <> 2 OR employer_id IS NOT NULL)            -- enterprise posts name the employer
);
CREATE INDEX posts_path ON posts (jurisdiction_path text_pattern_ops) WHERE open;

ALTER TABLE employers ENABLE ROW LEVEL SECURITY;
ALTER TABLE employers FORCE ROW LEVEL SECURITY;
CREATE POLICY employers_in_scope ON employers
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns()))
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
ALTER TABLE posts ENABLE ROW LEVEL SECURITY;
ALTER TABLE posts FORCE ROW LEVEL SECURITY;
CREATE POLICY posts_in_scope ON posts
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns()))
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
