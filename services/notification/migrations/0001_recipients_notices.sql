-- The notification service's own data: who can be reached and how (projected from the
-- registry's events, never read from its database), and every notice with one delivery row per
-- channel. A notice and its deliveries are stored before anything is sent.

CREATE OR REPLACE FUNCTION cdsp_scope_patterns() RETURNS text[]
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT string_to_array(coalesce(current_setting('cdsp.scope', true), ''), ',') $$;

-- Residents (and, through them, their guardians and liaisons). Addresses live only here: a
-- delivery looks its address up when it is sent, so a changed phone number is used at once.
CREATE TABLE recipients (
    person_id         uuid PRIMARY KEY,
    household_id      uuid NOT NULL,
    jurisdiction_path text NOT NULL,
    display_name      text NOT NULL DEFAULT '',
    category          smallint NOT NULL DEFAULT 0,
    preferred_channel smallint NOT NULL DEFAULT 0,
    phone             text NOT NULL DEFAULT '',
    guardian_name     text NOT NULL DEFAULT '',
    guardian_phone    text NOT NULL DEFAULT '',
    liaison_id        text NOT NULL DEFAULT '',
    archived          boolean NOT NULL DEFAULT false,
    version           bigint NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recipients_household ON recipients (household_id);
CREATE INDEX recipients_path ON recipients (jurisdiction_path text_pattern_ops);

-- Residents who have the community app linked (the inbox reaches them).
CREATE TABLE app_links (
    person_id   uuid PRIMARY KEY,
    linked_at   timestamptz NOT NULL DEFAULT now(),
    linked_by   text NOT NULL
);

-- E-mail addresses of workers (by subject) and grid teams (by path).
CREATE TABLE worker_contacts (
    recipient_id      text PRIMARY KEY,
    jurisdiction_path text NOT NULL,
    email             text NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- Partner endpoints that receive the notices for workers in a jurisdiction, signed.
CREATE TABLE webhooks (
    webhook_id        uuid PRIMARY KEY,
    url               text NOT NULL,
    event_types       text[] NOT NULL DEFAULT '{}',   -- empty: every event type
    jurisdiction_path text NOT NULL,
    secret            text NOT NULL,
    created_by        text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    active            boolean NOT NULL DEFAULT true
);
CREATE INDEX webhooks_path ON webhooks (jurisdiction_path text_pattern_ops) WHERE active;

CREATE TABLE notices (
    notice_id            uuid PRIMARY KEY,
    source_event_id      uuid NOT NULL,
    source_event_type    text NOT NULL,
    rule                 text NOT NULL,
    template             text NOT NULL,
    recipient_kind       text NOT NULL CHECK (recipient_kind IN
                                              ('resident', 'guardian', 'liaison', 'grid_team')),
    recipient_id         text NOT NULL,
    jurisdiction_path    text NOT NULL,
    urgent               boolean NOT NULL,
    title                text NOT NULL,
    body                 text NOT NULL,
    locale               text NOT NULL,
    easy_read            boolean NOT NULL DEFAULT false,
    flash_alert          boolean NOT NULL DEFAULT false,
    channel_reasons      text[] NOT NULL DEFAULT '{}',
    undeliverable_reason text NOT NULL DEFAULT '',
    version              bigint NOT NULL DEFAULT 1,   -- of the notice's events
    created_at           timestamptz NOT NULL DEFAULT now(),
    -- An event delivered twice never makes a second notice for the same recipient.
    CONSTRAINT notices_once UNIQUE (source_event_id, recipient_kind, recipient_id, rule)
);
CREATE INDEX notices_recipient ON notices (recipient_id, created_at DESC, notice_id DESC);
CREATE INDEX notices_path ON notices (jurisdiction_path text_pattern_ops, created_at DESC);

CREATE TABLE deliveries (
    delivery_id       uuid PRIMARY KEY,
    notice_id         uuid NOT NULL REFERENCES notices,
    channel           text NOT NULL CHECK (channel IN ('inbox', 'webhook', 'email', 'sms',
                                                       'voice')),
    webhook_id        uuid REFERENCES webhooks,
    recipient_kind    text NOT NULL,
    recipient_id      text NOT NULL,
    jurisdiction_path text NOT NULL,
    urgent            boolean NOT NULL,
    -- 1 pending, 2 sent, 3 delivered, 4 failed (cdsp.notification.v1.DeliveryStatus)
    status            smallint NOT NULL DEFAULT 1 CHECK (status BETWEEN 1 AND 4),
    attempts          integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    last_error        text NOT NULL DEFAULT '',
    provider_ref      text NOT NULL DEFAULT '',
    sent_at           timestamptz,
    delivered_at      timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT deliveries_once UNIQUE NULLS NOT DISTINCT (notice_id, channel, webhook_id)
);
CREATE INDEX deliveries_notice ON deliveries (notice_id);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 1;
-- The per-recipient rate limit counts what was sent to a recipient in the last hour.
CREATE INDEX deliveries_sent_to ON deliveries (recipient_id, sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX deliveries_path ON deliveries (jurisdiction_path text_pattern_ops);

ALTER TABLE recipients ENABLE ROW LEVEL SECURITY;
ALTER TABLE recipients FORCE ROW LEVEL SECURITY;
CREATE POLICY recipients_in_scope ON recipients
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns()))
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
ALTER TABLE worker_contacts ENABLE ROW LEVEL SECURITY;
ALTER TABLE worker_contacts FORCE ROW LEVEL SECURITY;
CREATE POLICY worker_contacts_in_scope ON worker_contacts
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns()))
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
ALTER TABLE webhooks ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhooks FORCE ROW LEVEL SECURITY;
CREATE POLICY webhooks_in_scope ON webhooks
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns()))
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
ALTER TABLE notices ENABLE ROW LEVEL SECURITY;
ALTER TABLE notices FORCE ROW LEVEL SECURITY;
CREATE POLICY notices_in_scope ON notices
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns()))
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
ALTER TABLE deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE deliveries FORCE ROW LEVEL SECURITY;
CREATE POLICY deliveries_in_scope ON deliveries
    USING (jurisdiction_path LIKE ANY (cdsp_scope_patterns()))
    WITH CHECK (jurisdiction_path LIKE ANY (cdsp_scope_patterns()));
