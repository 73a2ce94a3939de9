-- Minimum necessary (issue 13): a person's name, phone, preferred channel and guardian no longer
-- travel on the registry's general topic. They arrive as PersonContact on the restricted topic
-- cdsp.registry.contacts.v1 (its own consumer group) and live here, apart from the record
-- projected from cdsp.registry.v1, each moving forward by the person's version on its own: the
-- two topics are read independently, so either may arrive first. An erased contact (the record
-- was archived) keeps its version with every field empty, so a late older contact cannot bring
-- the phone number back.
CREATE TABLE recipient_contacts (
    person_id         uuid PRIMARY KEY,
    jurisdiction_path text NOT NULL,
    name              text NOT NULL DEFAULT '',
    phone             text NOT NULL DEFAULT '',
    preferred_channel smallint NOT NULL DEFAULT 0,
    guardian_name     text NOT NULL DEFAULT '',
    guardian_phone    text NOT NULL DEFAULT '',
    erased            boolean NOT NULL DEFAULT false,
    version           bigint NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- What the recipients held so far is carried across (an archived person's erased), so a running
-- deployment keeps reaching people without waiting for the registry's contact snapshot. The
-- tables' owner is under row-level security too (FORCE): this transaction sees everything.
SELECT set_config('cdsp.scope', '/%', true);
INSERT INTO recipient_contacts (person_id, jurisdiction_path, name, phone, preferred_channel,
                                guardian_name, guardian_phone, erased, version)
SELECT person_id, jurisdiction_path,
       CASE WHEN archived THEN '' ELSE display_name END,
       CASE WHEN archived THEN '' ELSE phone END,
       CASE WHEN archived THEN 0 ELSE preferred_channel END,
       CASE WHEN archived THEN '' ELSE guardian_name END,
       CASE WHEN archived THEN '' ELSE guardian_phone END,
       archived, version
FROM recipients;

-- A release before this one writes these columns: rolling the notification service back across
-- this migration needs the database restored as well (migrations are forward-only).
ALTER TABLE recipients DROP COLUMN display_name, DROP COLUMN preferred_channel,
    DROP COLUMN phone, DROP COLUMN guardian_name, DROP COLUMN guardian_phone;

ALTER TABLE recipient_contacts ENABLE ROW LEVEL SECURITY;
ALTER TABLE recipient_contacts FORCE ROW LEVEL SECURITY;
CREATE POLICY recipient_contacts_in_scope ON recipient_contacts
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns()))
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
