-- Resident ID and certificate number sealed at rest (issue 13; runtime/pii.py).
--
-- Each is stored as AES-256-GCM ciphertext with its key id (resident_id_sealed,
-- certificate_sealed), bound to the row; one file per person is kept by a keyed blind index
-- (resident_id_index: HMAC-SHA256, unique). The plaintext columns stay only for rows written
-- before this migration: the registry seals them at start-up (registry/service/sealing.py)
-- and empties them; persons_no_plaintext refuses any new or updated row that holds plaintext.
ALTER TABLE persons
    ADD COLUMN resident_id_sealed bytea,
    ADD COLUMN resident_id_index bytea,
    ADD COLUMN certificate_sealed bytea,
    ALTER COLUMN resident_id DROP NOT NULL;
ALTER TABLE persons DROP CONSTRAINT persons_check;  -- certified = (certificate_number IS NOT NULL)
ALTER TABLE persons
    ADD CONSTRAINT persons_identified
        CHECK (resident_id IS NOT NULL OR (resident_id_sealed IS NOT NULL
                                           AND resident_id_index IS NOT NULL)),
    ADD CONSTRAINT persons_certified
        CHECK (certified = (certificate_number IS NOT NULL OR certificate_sealed IS NOT NULL)),
    -- NOT VALID: enforced on every row written from now on; the rows before it are sealed by
    -- the registry at start-up.
    ADD CONSTRAINT persons_no_plaintext
        CHECK (resident_id IS NULL AND certificate_number IS NULL) NOT VALID;
CREATE UNIQUE INDEX persons_resident_id_index ON persons (resident_id_index);
CREATE INDEX persons_plaintext ON persons (person_id) WHERE resident_id IS NOT NULL;

-- A registration of a resident ID whose file is kept outside the registering worker's
-- jurisdictions: the worker is told only that it awaits review; a supervisor (an administrator
-- whose jurisdiction covers both places, filed under their common path) decides.
CREATE TABLE registration_reviews (
    review_id          uuid PRIMARY KEY,
    jurisdiction_path  text NOT NULL,   -- the common path of both places: who may review
    requested_path     text NOT NULL,   -- where the worker asked to register the person
    household_id       uuid NOT NULL REFERENCES households (household_id),
    holder_person_id   uuid NOT NULL REFERENCES persons (person_id),
    holder_path        text NOT NULL,
    requested_by       text NOT NULL,   -- the worker's subject
    requested_at       timestamptz NOT NULL DEFAULT now(),
    resolution         smallint NOT NULL DEFAULT 0,  -- 0 open, 1 moved here, 2 refused
    note               text NOT NULL DEFAULT '',
    resolved_by        text,
    resolved_at        timestamptz,
    version            bigint NOT NULL DEFAULT 1,
    CHECK ((resolution = 0) = (resolved_at IS NULL))
);
CREATE INDEX registration_reviews_open ON registration_reviews
    (jurisdiction_path text_pattern_ops, requested_at) WHERE resolution = 0;
ALTER TABLE registration_reviews ENABLE ROW LEVEL SECURITY;
ALTER TABLE registration_reviews FORCE ROW LEVEL SECURITY;
CREATE POLICY registration_reviews_in_scope ON registration_reviews
    USING (jurisdiction_path LIKE ANY ((SELECT cdsp_scope_patterns())::text[]))
    WITH CHECK (jurisdiction_path LIKE ANY ((SELECT cdsp_scope_patterns())::text[]));
