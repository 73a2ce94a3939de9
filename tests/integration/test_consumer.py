"""The consumer base against the real broker and database: duplicates ignored by the inbox,
a poison message parked in the dead-letter table while the partition moves on, and offsets
committed only after processing."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from prometheus_client import REGISTRY

import devstack
from cdsp.events.v1 import registry_pb2 as ev
from cdsp.events.v1.envelope_pb2 import Envelope
from runtime.auth import SYSTEM
from runtime.consumer import EventConsumer
from runtime.db import Database, UnitOfWork
from runtime.dead_letters import refresh_gauge as refresh_dead_letter_gauge
from runtime.events import build_envelope
from runtime.kafka_clients import ensure_topics

ARCHIVED = "cdsp.events.v1.PersonArchived"


def _event(person_id: str) -> Envelope:
    payload = ev.PersonArchived(person_id=person_id, reason=ev.ARCHIVE_REASON_MOVED_OUT)
    return build_envelope(payload, aggregate_type="person", aggregate_id=person_id, version=2,
                          jurisdiction_path="/T/", producer="test", actor="t", request_id="r")


async def _until(predicate: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.2)
    raise AssertionError("condition not met in time")


@pytest.mark.parametrize("batched", [False, True], ids=["one-by-one", "batched"])
async def test_duplicates_poison_and_offsets(stack: devstack.Stack, registry: str,
                                             batched: bool) -> None:
    """Batched: the poll is handled in one transaction; the poison fails it, and the records are
    then handled one by one, so the outcome must be exactly the same."""
    topic = f"cdsp.test.{uuid.uuid4().hex[:8]}"
    group = f"test-{uuid.uuid4().hex[:8]}"
    ensure_topics(stack.kafka_bootstrap, [topic], 1, 1)
    db = Database(stack.database_url("registry"), "registry", 1, 4)
    await db.open()
    async with db.unit_of_work(SYSTEM) as uow:
        await uow.execute("CREATE TABLE IF NOT EXISTS consumer_test_seen "
                          "(event_id uuid, person_id text)")

    async def handle(envelope: Envelope, payload: object, uow: UnitOfWork) -> None:
        assert isinstance(payload, ev.PersonArchived)
        if payload.person_id == "poison":
            raise ValueError("cannot handle this one")
        await uow.execute("INSERT INTO consumer_test_seen VALUES (%s, %s)",
                          [envelope.event_id, payload.person_id])

    first, poison, last = _event("p-first"), _event("poison"), _event("p-last")
    producer = KafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
    for value in (first.SerializeToString(), first.SerializeToString(),  # delivered twice
                  poison.SerializeToString(), b"\x00not-protobuf", last.SerializeToString()):
        producer.send(topic, key=b"k", value=value)
    producer.flush()
    producer.close()

    async def handle_many(items: list[tuple[Envelope, object]], uow: UnitOfWork) -> None:
        for envelope, payload in items:
            await handle(envelope, payload, uow)

    consumer = EventConsumer(db, stack.kafka_bootstrap, group, [topic], {ARCHIVED: handle},
                             retry_delay_s=0.01,
                             batch_handlers={ARCHIVED: handle_many} if batched else None)
    consumer.start()

    async def seen() -> list[tuple[str, str]]:
        async with db.unit_of_work(SYSTEM) as uow:
            return [(str(r[0]), r[1]) for r in await uow.fetchall(
                "SELECT event_id, person_id FROM consumer_test_seen WHERE event_id = ANY(%s)",
                [[first.event_id, last.event_id, poison.event_id]])]

    try:
        await _until(lambda: _has(seen, "p-last"))
        rows = await seen()
        assert sorted(p for _, p in rows) == ["p-first", "p-last"]  # first handled once
        async with db.unit_of_work(SYSTEM) as uow:
            parked = await uow.fetchall(
                "SELECT record_offset, event_type, error, attempts FROM dead_letter "
                "WHERE consumer = %s ORDER BY record_offset", [group])
            inbox = await uow.fetchone("SELECT count(*) FROM inbox WHERE consumer = %s", [group])
        assert [(r[0], r[1]) for r in parked] == [(2, ARCHIVED), (3, None)]
        assert "cannot handle this one" in parked[0][2] and parked[0][3] == 3
        assert "undecodable" in parked[1][2]
        assert inbox == (2,)

        async def committed() -> bool:
            return await asyncio.to_thread(_committed_offset, stack, group, topic) == 5

        await _until(committed, timeout=30)

        async def caught_up() -> bool:
            lag = REGISTRY.get_sample_value("cdsp_consumer_lag_events", {
                "group": group, "topic": topic, "partition": "0"})
            return lag == 0

        await _until(caught_up, timeout=15)

        # The dead-letter gauge is the table's row count: it falls when parked rows are removed.
        total = await refresh_dead_letter_gauge(db)
        assert total >= 2 and REGISTRY.get_sample_value("cdsp_dead_letter_events") == total
        async with db.unit_of_work(SYSTEM) as uow:
            await uow.execute("DELETE FROM dead_letter WHERE consumer = %s", [group])
        assert await refresh_dead_letter_gauge(db) == total - 2
        assert REGISTRY.get_sample_value("cdsp_dead_letter_events") == total - 2
    finally:
        await consumer.stop()
        await db.close()
    # A stopped consumer no longer reports lag for partitions it does not hold.
    assert REGISTRY.get_sample_value("cdsp_consumer_lag_events", {
        "group": group, "topic": topic, "partition": "0"}) is None


async def _has(seen: object, person_id: str) -> bool:
    return any(p == person_id for _, p in await seen())  # type: ignore[operator]


def _committed_offset(stack: devstack.Stack, group: str, topic: str) -> int | None:
    reader = KafkaConsumer(bootstrap_servers=stack.kafka_bootstrap, group_id=group,
                           enable_auto_commit=False)
    try:
        return reader.committed(TopicPartition(topic, 0))  # type: ignore[no-any-return]
    finally:
        reader.close()


async def test_a_consumer_stopped_while_joining_does_not_wedge_its_group(
        stack: devstack.Stack, registry: str) -> None:
    """A process stopped within a second of starting (a crash loop, a quick rollback) must not
    leave its group waiting for it: the next consumer of the group still gets the events."""
    topic = f"cdsp.test.{uuid.uuid4().hex[:8]}"
    group = f"test-{uuid.uuid4().hex[:8]}"
    ensure_topics(stack.kafka_bootstrap, [topic], 1, 1)
    db = Database(stack.database_url("registry"), "registry", 1, 2)
    await db.open()
    handled: list[str] = []

    async def handle(envelope: Envelope, payload: object, uow: UnitOfWork) -> None:
        handled.append(envelope.event_id)

    try:
        quick = EventConsumer(db, stack.kafka_bootstrap, group, [topic], {ARCHIVED: handle})
        quick.start()
        await asyncio.sleep(0.3)
        await quick.stop()
        event = _event("after-a-quick-stop")
        producer = KafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
        producer.send(topic, key=b"k", value=event.SerializeToString())
        producer.flush()
        producer.close()
        successor = EventConsumer(db, stack.kafka_bootstrap, group, [topic], {ARCHIVED: handle})
        successor.start()
        try:
            async def got_it() -> bool:
                return event.event_id in handled

            await _until(got_it, timeout=45)
        finally:
            await successor.stop()
    finally:
        await db.close()
