-- The registry's own tables. Every table that holds people or households is under row-level
-- security: a row is visible only when its jurisdiction path lies under one of the caller's
-- jurisdictions, which the unit of work sets per transaction in `cdsp.scope` (LIKE patterns,
-- comma separated). FORCE makes the policies apply to the owner role the service connects as.

CREATE FUNCTION cdsp_scope_patterns() RETURNS text[]
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT string_to_array(coalesce(current_setting('cdsp.scope', true), ''), ',') $$;

CREATE TABLE jurisdictions (
    code        text PRIMARY KEY,
    name        text NOT NULL,
    level       smallint NOT NULL CHECK (level BETWEEN 1 AND 5),
    parent_code text REFERENCES jurisdictions (code),
    path        text NOT NULL UNIQUE,
    minimum_living_standard_fen bigint NOT NULL DEFAULT 0 CHECK (minimum_living_standard_fen >= 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jurisdictions_parent ON jurisdictions (parent_code);

CREATE TABLE households (
    household_id       uuid PRIMARY KEY,
    grid_code          text NOT NULL REFERENCES jurisdictions (code),
    jurisdiction_path  text NOT NULL,
    address            text NOT NULL,
    monthly_income_fen bigint NOT NULL CHECK (monthly_income_fen >= 0),
    version            bigint NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX households_path ON households (jurisdiction_path text_pattern_ops);

CREATE TABLE persons (
    person_id          uuid PRIMARY KEY,
    household_id       uuid NOT NULL REFERENCES households (household_id),
    jurisdiction_path  text NOT NULL,
    name               text NOT NULL,
    resident_id        text NOT NULL,
    sex                smallint NOT NULL,
    birth_date         date NOT NULL,
    category           smallint NOT NULL CHECK (category BETWEEN 1 AND 7),
    grade              smallint NOT NULL CHECK (grade BETWEEN 0 AND 4),
    certified          boolean NOT NULL,
    certificate_number text,
    phone              text NOT NULL DEFAULT '',
    preferred_channel  smallint NOT NULL,
    guardian           jsonb,
    liaison            jsonb NOT NULL,
    living_situation   smallint NOT NULL,
    priority_groups    text[] NOT NULL DEFAULT '{}',
    needs              jsonb NOT NULL DEFAULT '[]',
    need_codes         text[] NOT NULL DEFAULT '{}',
    status             smallint NOT NULL DEFAULT 1,
    archive_reason     smallint NOT NULL DEFAULT 0,
    archived_at        timestamptz,
    last_verified_at   timestamptz,
    version            bigint NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (certified = (certificate_number IS NOT NULL))
);
-- One file per person, city-wide: the same resident ID cannot be registered twice anywhere.
CREATE UNIQUE INDEX persons_resident_id ON persons (resident_id);
CREATE INDEX persons_path ON persons (jurisdiction_path text_pattern_ops, person_id);
CREATE INDEX persons_household ON persons (household_id);
CREATE INDEX persons_priority_groups ON persons USING gin (priority_groups);
CREATE INDEX persons_need_codes ON persons USING gin (need_codes);
CREATE INDEX persons_verification ON persons (last_verified_at) WHERE status = 1;

CREATE TABLE service_records (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id         uuid NOT NULL REFERENCES persons (person_id),
    jurisdiction_path text NOT NULL,
    occurred_at       timestamptz NOT NULL,
    kind              text NOT NULL,
    description       text NOT NULL DEFAULT '',
    provider          text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX service_records_person ON service_records (person_id, occurred_at DESC);

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

ALTER TABLE service_records ENABLE ROW LEVEL SECURITY;
ALTER TABLE service_records FORCE ROW LEVEL SECURITY;
CREATE POLICY service_records_in_scope ON service_records
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns()))
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
