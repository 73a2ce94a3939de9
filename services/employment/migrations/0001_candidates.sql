-- Persons as the employment service knows them, projected from the registry's events (it never
-- reads the registry's database). Versions make the projection safe against events that arrive
-- twice or out of order. The assessment, plan and placement columns are kept here too, so that
-- matching one post against every candidate is one indexed query.

CREATE OR REPLACE FUNCTION cdsp_scope_patterns() RETURNS text[]
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT string_to_array(coalesce(current_setting('cdsp.scope', true), ''), ',') $$;

CREATE TABLE candidates (
    person_id         uuid PRIMARY KEY,
    household_id      uuid NOT NULL,
    jurisdiction_path text NOT NULL,
    category          smallint NOT NULL,
    grade             smallint NOT NULL,
    birth_date        date,
    wants_work        boolean NOT NULL DEFAULT false,  -- the registry records an employment need
    archived          boolean NOT NULL DEFAULT false,
    version           bigint NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    -- kept by this service:
    track             smallint NOT NULL DEFAULT 0,     -- of the current plan (0: none)
    total_score       smallint NOT NULL DEFAULT 0,     -- of the latest assessment
    scores            smallint[] NOT NULL DEFAULT '{}', -- in assessment.toml's indicator order
    assessed          boolean NOT NULL DEFAULT false,
    placed_full_time  boolean NOT NULL DEFAULT false
);
CREATE INDEX candidates_path ON candidates (jurisdiction_path text_pattern_ops);

ALTER TABLE candidates ENABLE ROW LEVEL SECURITY;
ALTER TABLE candidates FORCE ROW LEVEL SECURITY;
CREATE POLICY candidates_in_scope ON candidates
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns()))
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
