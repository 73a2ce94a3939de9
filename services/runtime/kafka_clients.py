"""kafka-python clients with the settings the platform relies on.

kafka-python is not asyncio: the relay and consumers call it from worker threads. Every client
connects as CDSP_KAFKA_SECURITY_PROTOCOL says (runtime.settings.kafka_security_options: TLS and
SASL/SCRAM credentials for a production cluster; PLAINTEXT by default).
"""

from __future__ import annotations

import functools
import logging
import os
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from runtime.settings import kafka_security_options

log = logging.getLogger("cdsp.kafka")


@functools.cache
def security() -> dict[str, Any]:
    """How every client of this process connects (read once; the service checked it at start)."""
    return kafka_security_options(os.environ)


def make_admin(bootstrap: str, client_id: str, request_timeout_ms: int = 5000) -> KafkaAdminClient:
    return KafkaAdminClient(bootstrap_servers=bootstrap.split(","), client_id=client_id,
                            request_timeout_ms=request_timeout_ms, **security())


def make_producer(bootstrap: str, client_id: str) -> KafkaProducer:
    return KafkaProducer(
        **security(),
        bootstrap_servers=bootstrap.split(","),
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=2,
        max_block_ms=5000,
        request_timeout_ms=5000,
        delivery_timeout_ms=10000,
        retry_backoff_ms=200,
    )


# How long the broker may hold an empty fetch. Kafka answers as soon as data arrives; some
# Kafka-protocol brokers (Tansu) hold the fetch for the whole wait, which then becomes the
# event latency: 50 ms keeps it small at the cost of a few idle fetches per second.
FETCH_MAX_WAIT_MS = int(os.environ.get("CDSP_CONSUMER_FETCH_WAIT_MS", "50"))


def make_consumer(bootstrap: str, group_id: str, client_id: str,
                  max_poll_records: int = 200) -> KafkaConsumer:
    return KafkaConsumer(
        **security(),
        bootstrap_servers=bootstrap.split(","),
        client_id=client_id,
        group_id=group_id,
        enable_auto_commit=False,        # offsets are committed after the handler's transaction
        auto_offset_reset="earliest",    # a new group starts from the beginning, losing nothing
        max_poll_records=max_poll_records,
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        max_poll_interval_ms=60000,
        session_timeout_ms=10000,
        heartbeat_interval_ms=2000,
    )


def ensure_topics(bootstrap: str, topics: list[str], partitions: int, replication: int) -> None:
    admin = make_admin(bootstrap, "cdsp-admin")
    try:
        existing = set(admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            try:
                admin.create_topics([NewTopic(t, partitions, replication) for t in missing])
                log.info("created topics %s", missing)
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()
