-- The runtime's tables, in every service's database.

-- Events written in the same transaction as the change that caused them; the relay publishes
-- them in id order and marks them published.
CREATE TABLE outbox (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     uuid NOT NULL UNIQUE,
    topic        text NOT NULL,
    record_key   text NOT NULL,
    event_type   text NOT NULL,
    envelope     bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    published_at timestamptz,
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_published_at ON outbox (published_at) WHERE published_at IS NOT NULL;

-- Events a consumer has processed, by consumer group: a redelivered event is recognised here.
CREATE TABLE inbox (
    consumer     text NOT NULL,
    event_id     uuid NOT NULL,
    topic        text NOT NULL,
    event_type   text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Messages a consumer could not process after its retries, parked with the error so the
-- partition moves on; an operator can inspect and replay them.
CREATE TABLE dead_letter (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consumer     text NOT NULL,
    topic        text NOT NULL,
    partition    integer NOT NULL,
    record_offset bigint NOT NULL,
    record_key   text,
    event_id     text,
    event_type   text,
    payload      bytea,
    error        text NOT NULL,
    attempts     integer NOT NULL,
    parked_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (consumer, topic, partition, record_offset)
);
