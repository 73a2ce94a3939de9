-- Persons as the volunteer service knows them, projected from the registry's events (it never
-- reads the registry's database), with their risk colour and visit schedule. Versions make the
-- projection safe against events that arrive twice or out of order.

CREATE OR REPLACE FUNCTION cdsp_scope_patterns() RETURNS text[]
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT string_to_array(coalesce(current_setting('cdsp.scope', true), ''), ',') $$;

CREATE TABLE persons (
    person_id         uuid PRIMARY KEY,
    household_id      uuid NOT NULL,
    jurisdiction_path text NOT NULL,
    category          smallint NOT NULL,
    grade             smallint NOT NULL,
    living_alone      boolean NOT NULL,
    liaison_id        text NOT NULL DEFAULT '',
    archived          boolean NOT NULL DEFAULT false,
    version           bigint NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    -- the care schedule: 0 = not cared for (neither living alone, severe, nor coloured)
    colour            smallint NOT NULL DEFAULT 0 CHECK (colour BETWEEN 0 AND 3),
    colour_reason     text NOT NULL DEFAULT '',
    colour_set_at     timestamptz,
    last_visit_at     timestamptz,
    next_due_at       timestamptz,
    missed_due_at     timestamptz,       -- the due time a VisitMissed was announced for
    colour_version    bigint NOT NULL DEFAULT 0  -- of the person's RiskColourChanged events
);
CREATE INDEX persons_path ON persons (jurisdiction_path text_pattern_ops);
-- The missed-visit scan reads only what is due and not yet announced.
CREATE INDEX persons_due ON persons (next_due_at)
    WHERE colour > 0 AND NOT archived AND next_due_at IS NOT NULL;

ALTER TABLE persons ENABLE ROW LEVEL SECURITY;
ALTER TABLE persons FORCE ROW LEVEL SECURITY;
CREATE POLICY persons_in_scope ON persons
    USING (jurisdiction_path LIKE ANY ((SELECT cdsp_scope_patterns())::text[]))
    WITH CHECK (jurisdiction_path LIKE ANY ((SELECT cdsp_scope_patterns())::text[]));

-- Every change of a person's colour, who made it and why.
CREATE TABLE colour_history (
    person_id         uuid NOT NULL REFERENCES persons,
    jurisdiction_path text NOT NULL,
    colour            smallint NOT NULL,
    previous          smallint NOT NULL,
    reason            text NOT NULL,
    automatic         boolean NOT NULL,
    set_by            text NOT NULL,
    set_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX colour_history_person ON colour_history (person_id, set_at);
CREATE INDEX colour_history_path ON colour_history (jurisdiction_path text_pattern_ops, set_at);
ALTER TABLE colour_history ENABLE ROW LEVEL SECURITY;
ALTER TABLE colour_history FORCE ROW LEVEL SECURITY;
CREATE POLICY colour_history_in_scope ON colour_history
    USING (jurisdiction_path LIKE ANY ((SELECT cdsp_scope_patterns())::text[]))
    WITH CHECK (jurisdiction_path LIKE ANY ((SELECT cdsp_scope_patterns())::text[]));
