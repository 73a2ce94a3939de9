"""A commit the group refuses because it is rebalancing (a broker restart, a member joining)
does not tear the consumer down (runtime.consumer_thread). Tearing it down mid-rebalance left
the group waiting for a member that never finished joining; the process's next consumer got no
partitions and the notification service's recipients projection stopped for good (seen in CI
after the broker-restart test). The refusal is injected on the real client's commit; the broker,
the group and the database are real."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from kafka import KafkaProducer
from kafka.errors import RebalanceInProgressError

import devstack
from cdsp.events.v1 import registry_pb2 as ev
from cdsp.events.v1.envelope_pb2 import Envelope
from runtime import consumer_thread
from runtime.auth import SYSTEM
from runtime.consumer import EventConsumer
from runtime.db import Database, UnitOfWork
from runtime.events import build_envelope
from runtime.kafka_clients import ensure_topics

ARCHIVED = "cdsp.events.v1.PersonArchived"


class RefusesFirstCommit:
    """A real KafkaConsumer whose first commit the group refuses (as during a rebalance)."""

    def __init__(self, real: Any) -> None:
        self.real, self.commits = real, 0

    def commit(self, *args: Any, **kwargs: Any) -> None:
        self.commits += 1
        if self.commits == 1:
            raise RebalanceInProgressError("the group is rebalancing")
        self.real.commit(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def _send(bootstrap: str, topic: str, person_ids: list[str]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for person_id in person_ids:
        envelope = build_envelope(
            ev.PersonArchived(person_id=person_id, reason=ev.ARCHIVE_REASON_MOVED_OUT),
            aggregate_type="person", aggregate_id=person_id, version=2, jurisdiction_path="/T/",
            producer="test", actor="t", request_id="r")
        producer.send(topic, key=person_id.encode(), value=envelope.SerializeToString())
    producer.flush()
    producer.close()


async def test_a_commit_refused_in_a_rebalance_does_not_stop_the_consumer(
        stack: devstack.Stack, registry: str, monkeypatch: pytest.MonkeyPatch) -> None:
    topic, group = f"cdsp.test.{uuid.uuid4().hex[:8]}", f"test-{uuid.uuid4().hex[:8]}"
    ensure_topics(stack.kafka_bootstrap, [topic], 1, 1)
    made: list[RefusesFirstCommit] = []
    real_make = consumer_thread.make_consumer

    def make(*args: Any, **kwargs: Any) -> RefusesFirstCommit:
        made.append(RefusesFirstCommit(real_make(*args, **kwargs)))
        return made[-1]

    monkeypatch.setattr(consumer_thread, "make_consumer", make)
    seen: list[str] = []

    async def handle(envelope: Envelope, payload: object, uow: UnitOfWork) -> None:
        assert isinstance(payload, ev.PersonArchived)
        seen.append(payload.person_id)

    db = Database(stack.database_url("registry"), "registry", 1, 4)
    await db.open()
    consumer = EventConsumer(db, stack.kafka_bootstrap, group, [topic], {ARCHIVED: handle})
    consumer.start()
    try:
        _send(stack.kafka_bootstrap, topic, ["before-1", "before-2"])
        await _until(lambda: {"before-1", "before-2"} <= set(seen), "the first poll handled")
        _send(stack.kafka_bootstrap, topic, ["after-1"])
        await _until(lambda: "after-1" in seen, "a record after the refused commit handled")
        # The same consumer went on (no reconnect), and its later commit took the offsets.
        assert len(made) == 1 and made[0].commits >= 2
        await _until(lambda: _committed(stack, group, topic) == 3, "offsets committed")
    finally:
        await consumer.stop()
        async with db.unit_of_work(SYSTEM) as uow:
            await uow.execute("DELETE FROM inbox WHERE consumer = %s", [group])
        await db.close()


def _committed(stack: devstack.Stack, group: str, topic: str) -> int:
    from kafka import KafkaAdminClient, TopicPartition
    admin = KafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
    try:
        offsets = admin.list_group_offsets({group: [TopicPartition(topic, 0)]})[group]
    finally:
        admin.close()
    found = offsets.get(TopicPartition(topic, 0))
    return found.offset if found is not None else -1


async def _until(check: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: not so after {timeout}s")
