-- The jurisdictions the registry announces (JurisdictionChanged), each with its monthly minimum
-- living standard: the one source of the standard that caps relief (0: not set there, a
-- jurisdiction above holds it). A row only moves forward by the event's version.
--
-- Not personal data, and every caller needs the jurisdictions above its own (a community worker
-- is capped by the city's standard): everyone reads every row; only the projection (the system
-- scope) writes.

CREATE TABLE jurisdictions (
    code                        text PRIMARY KEY,
    path                        text NOT NULL,
    level                       smallint NOT NULL CHECK (level BETWEEN 1 AND 5),
    minimum_living_standard_fen bigint NOT NULL CHECK (minimum_living_standard_fen >= 0),
    version                     bigint NOT NULL,
    updated_at                  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jurisdictions_path ON jurisdictions (path);

ALTER TABLE jurisdictions ENABLE ROW LEVEL SECURITY;
ALTER TABLE jurisdictions FORCE ROW LEVEL SECURITY;
CREATE POLICY jurisdictions_read ON jurisdictions FOR SELECT USING (true);
CREATE POLICY jurisdictions_insert ON jurisdictions FOR INSERT
    WITH CHECK ('/%' = ANY (cdsp_scope_patterns()));
CREATE POLICY jurisdictions_update ON jurisdictions FOR UPDATE
    USING ('/%' = ANY (cdsp_scope_patterns()))
    WITH CHECK ('/%' = ANY (cdsp_scope_patterns()));
