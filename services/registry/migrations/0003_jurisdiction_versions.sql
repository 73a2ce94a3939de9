-- Jurisdictions are announced (JurisdictionChanged) like persons and households, and can be
-- changed (name, minimum living standard): a version orders their events for consumers.
ALTER TABLE jurisdictions ADD COLUMN version bigint NOT NULL DEFAULT 1;
ALTER TABLE jurisdictions ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
