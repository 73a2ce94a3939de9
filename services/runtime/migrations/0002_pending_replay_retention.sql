-- Work a consumer holds until what it names arrives, dead letters an operator asked to replay,
-- outbox records the broker rejects for good, and inbox retention.

-- An event whose handler needs a projected record the service does not hold yet (a person whose
-- registration the registry's topic has not delivered): stored with its inbox row, tried again
-- when one of `waiting_for` arrives (or on a backoff), and finished without it at expires_at.
CREATE TABLE pending_events (
    consumer        text NOT NULL,
    event_id        uuid NOT NULL,
    topic           text NOT NULL,
    partition       integer NOT NULL,
    record_offset   bigint NOT NULL,
    record_key      text,
    event_type      text NOT NULL,
    envelope        bytea NOT NULL,
    waiting_for     text[] NOT NULL,              -- "person:<id>", "household:<id>"
    first_seen_at   timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    leased_until    timestamptz,                  -- a replica is trying it now
    attempts        integer NOT NULL DEFAULT 1,
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX pending_events_due ON pending_events (consumer, next_attempt_at);
CREATE INDEX pending_events_expiry ON pending_events (consumer, expires_at);
CREATE INDEX pending_events_waiting ON pending_events USING gin (waiting_for);

-- `python -m runtime.dead_letters replay` sets this; the consumer that owns the group processes
-- the record again and removes the row, or records the new error and clears it.
ALTER TABLE dead_letter ADD COLUMN replay_requested_at timestamptz;
CREATE INDEX dead_letter_replay ON dead_letter (consumer) WHERE replay_requested_at IS NOT NULL;

-- A record the broker rejects for good (too large, invalid) is parked here by the relay instead
-- of being retried ahead of every later event.
ALTER TABLE outbox ADD COLUMN parked_at timestamptz;
DROP INDEX outbox_unpublished;
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL AND parked_at IS NULL;

-- The inbox is kept as long as a redelivery is possible (the topics' retention and a margin).
CREATE INDEX inbox_processed_at ON inbox (processed_at);
