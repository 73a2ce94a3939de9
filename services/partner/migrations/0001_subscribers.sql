-- The partner gateway: subscribers (third parties), what each may receive, and its deliveries.

CREATE OR REPLACE FUNCTION cdsp_scope_patterns() RETURNS text[]
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT string_to_array(coalesce(current_setting('cdsp.scope', true), ''), ',') $$;

-- A subscriber. Its secret (signs webhooks) and pseudonym key (keys its pseudonyms) are sealed
-- with CDSP_PARTNER_KEYS (runtime.pii), bound to the row and column. The pseudonym key is never
-- rotated: a new one would change every pseudonym and break the subscriber's joins.
CREATE TABLE subscribers (
    subscriber_id         uuid PRIMARY KEY,
    code                  text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9-]{3,32}$'),
    name                  text NOT NULL,
    purpose               text NOT NULL,
    event_types           text[] NOT NULL,
    jurisdiction_path     text NOT NULL,
    fields                text[] NOT NULL,
    delivery              text NOT NULL CHECK (delivery IN ('webhook', 'kafka')),
    url                   text NOT NULL DEFAULT '',
    topic                 text NOT NULL DEFAULT '',
    principal             text NOT NULL DEFAULT '',
    state                 smallint NOT NULL DEFAULT 1 CHECK (state BETWEEN 1 AND 3),
    secret_sealed         bytea NOT NULL,
    old_secret_sealed     bytea,
    old_secret_until      timestamptz,
    pseudonym_key_sealed  bytea NOT NULL,
    created_by            text NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    changed_at            timestamptz NOT NULL DEFAULT now(),
    version               bigint NOT NULL DEFAULT 1
);
CREATE INDEX subscribers_path ON subscribers (jurisdiction_path text_pattern_ops);

ALTER TABLE subscribers ENABLE ROW LEVEL SECURITY;
ALTER TABLE subscribers FORCE ROW LEVEL SECURITY;
CREATE POLICY subscribers_in_scope ON subscribers
    USING (jurisdiction_path LIKE ANY ((SELECT cdsp_scope_patterns())::text[]))
    WITH CHECK (jurisdiction_path LIKE ANY ((SELECT cdsp_scope_patterns())::text[]));

-- The last sequence number given per subscriber and subject (its pseudonym).
CREATE TABLE subject_sequences (
    subscriber_id  uuid NOT NULL REFERENCES subscribers,
    subject        text NOT NULL,
    last_sequence  bigint NOT NULL,
    PRIMARY KEY (subscriber_id, subject)
);

-- One event for one subscriber: redacted and pseudonymised, serialized as its PartnerEvent.
-- state: 0 pending, 1 delivered, 2 dead-lettered (holds its subject until replayed),
-- 3 dropped (the subscriber was revoked).
CREATE TABLE deliveries (
    delivery_id        uuid PRIMARY KEY,
    subscriber_id      uuid NOT NULL REFERENCES subscribers,
    event_id           uuid NOT NULL,
    type               text NOT NULL,
    subject            text NOT NULL,
    sequence           bigint NOT NULL,
    event              bytea NOT NULL,
    state              smallint NOT NULL DEFAULT 0 CHECK (state BETWEEN 0 AND 3),
    attempts           integer NOT NULL DEFAULT 0,
    next_attempt_at    timestamptz NOT NULL DEFAULT now(),
    lease_until        timestamptz,
    last_error         text NOT NULL DEFAULT '',
    created_at         timestamptz NOT NULL DEFAULT now(),
    delivered_at       timestamptz,
    failed_at          timestamptz,
    UNIQUE (subscriber_id, event_id),
    UNIQUE (subscriber_id, subject, sequence)
);
-- The heads of the subjects still waiting (pending or dead-lettered), in order.
CREATE INDEX deliveries_waiting ON deliveries (subscriber_id, subject, sequence)
    WHERE state IN (0, 2);

-- The minimum living standard per jurisdiction (the registry's JurisdictionChanged): a
-- household's income is compared with the nearest standard set at or above its jurisdiction.
CREATE TABLE living_standards (
    path          text PRIMARY KEY,
    standard_fen  bigint NOT NULL
);
