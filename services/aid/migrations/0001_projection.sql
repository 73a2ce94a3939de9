-- What the aid service knows of persons and households, projected from the registry's events
-- (it never reads the registry's database). Versions make the projection safe against events
-- that arrive twice or out of order: a row only moves forward.

CREATE OR REPLACE FUNCTION cdsp_scope_patterns() RETURNS text[]
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT string_to_array(coalesce(current_setting('cdsp.scope', true), ''), ',') $$;

CREATE TABLE households (
    household_id       uuid PRIMARY KEY,
    jurisdiction_path  text NOT NULL,
    monthly_income_fen bigint NOT NULL,
    version            bigint NOT NULL,  -- 0: known only from a member's event so far
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX households_path ON households (jurisdiction_path text_pattern_ops);

CREATE TABLE persons (
    person_id         uuid PRIMARY KEY,
    household_id      uuid NOT NULL,
    jurisdiction_path text NOT NULL,
    name              text NOT NULL,
    category          smallint NOT NULL,
    grade             smallint NOT NULL,
    phone             text NOT NULL DEFAULT '',
    guardian_phone    text NOT NULL DEFAULT '',
    liaison_id        text NOT NULL DEFAULT '',
    living_alone      boolean NOT NULL,
    priority_groups   text[] NOT NULL DEFAULT '{}',
    archived          boolean NOT NULL DEFAULT false,
    version           bigint NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX persons_household ON persons (household_id);
CREATE INDEX persons_path ON persons (jurisdiction_path text_pattern_ops);

ALTER TABLE households ENABLE ROW LEVEL SECURITY;
ALTER TABLE households FORCE ROW LEVEL SECURITY;
CREATE POLICY households_in_scope ON households
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns()))
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
ALTER TABLE persons ENABLE ROW LEVEL SECURITY;
ALTER TABLE persons FORCE ROW LEVEL SECURITY;
CREATE POLICY persons_in_scope ON persons
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns()))
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
