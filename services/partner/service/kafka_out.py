"""The Kafka channel: each claimed delivery's PartnerEvent (serialized) produced to the
subscriber's own topic cdsp.partner.<code>.v1, keyed by its subject (one partition per subject:
the order holds), and marked delivered only once the broker acknowledged it (acks=all,
idempotent): the delivery table is the outbox. The topic is created when missing (the chart
creates it with the subscriber's KafkaUser as its only reader in production)."""

from __future__ import annotations

import asyncio

from kafka import KafkaProducer

from partner.adapters.delivery_store import Claimed
from partner.config import Partners
from partner.service.delivery import TryLater
from runtime.kafka_clients import ensure_topics, make_producer

ACK_TIMEOUT_S = 10.0


class KafkaSender:
    def __init__(self, p: Partners) -> None:
        self.p = p
        self._producer: KafkaProducer | None = None
        self._topics: set[str] = set()

    def _send_sync(self, c: Claimed) -> None:
        if c.topic not in self._topics:
            ensure_topics(self.p.kafka_bootstrap, [c.topic], self.p.partitions,
                          self.p.replication)
            self._topics.add(c.topic)
        if self._producer is None:
            self._producer = make_producer(self.p.kafka_bootstrap, "cdsp-partner")
        self._producer.send(c.topic, key=c.subject.encode(), value=c.event).get(ACK_TIMEOUT_S)

    async def send(self, c: Claimed) -> None:
        try:
            await asyncio.to_thread(self._send_sync, c)
        except Exception as exc:  # the broker is away or slow: the delivery waits
            raise TryLater(f"broker: {type(exc).__name__}") from None

    async def close(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await asyncio.to_thread(producer.close, 5)
