"""Records that cannot be handled, against the real broker and database: a record whose statement
the database refuses for good (a statement timeout) is parked instead of rewinding the consumer
for ever; an operator lists, replays and discards dead letters with runtime.dead_letter_cli
(the running consumer does the replay); the relay parks an outbox record the broker refuses for
good and publishes the events after it; the inbox is kept only as long as a redelivery can come."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import urllib.request
import uuid

from kafka import KafkaProducer
from prometheus_client import REGISTRY

import devstack
from cdsp.events.v1 import registry_pb2 as ev
from cdsp.events.v1 import runtime_pb2
from cdsp.events.v1.envelope_pb2 import Envelope
from runtime import inbox
from runtime.auth import SYSTEM
from runtime.consumer import EventConsumer
from runtime.db import Database, UnitOfWork
from runtime.events import build_envelope
from runtime.kafka_clients import ensure_topics
from tests.events import TopicReader
from tests.integration.test_consumer import _until

NEEDS = ev.PersonNeedsChanged.DESCRIPTOR.full_name
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _event(person_id: str) -> Envelope:
    return build_envelope(ev.PersonNeedsChanged(person_id=person_id), aggregate_type="person",
                          aggregate_id=person_id, version=1, jurisdiction_path="/Tdead/",
                          producer="test", actor="t", request_id="r")


async def _cli(stack: devstack.Stack, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "runtime.dead_letter_cli", *args,
        env={**os.environ, "PYTHONPATH": os.path.join(ROOT, "services"),
             "CDSP_DATABASE_URL": stack.database_url("registry")},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_a_timeout_is_parked_then_replayed_or_discarded(stack: devstack.Stack,
                                                              registry: str) -> None:
    topic = f"cdsp.test.{uuid.uuid4().hex[:8]}"
    group = f"dead-{uuid.uuid4().hex[:8]}"
    ensure_topics(stack.kafka_bootstrap, [topic], 1, 1)
    db = Database(stack.database_url("registry"), "registry", 1, 4)
    await db.open()
    async with db.unit_of_work(SYSTEM) as uow:
        await uow.execute("CREATE TABLE IF NOT EXISTS dead_test (person_id text)")
    slow: set[str] = set()

    async def handle(envelope: Envelope, payload: object, uow: UnitOfWork) -> None:
        assert isinstance(payload, ev.PersonNeedsChanged)
        if payload.person_id in slow:   # the database cancels it: a statement timeout
            await uow.execute("SET LOCAL statement_timeout = 50")
            await uow.execute("SELECT pg_sleep(1)")
        await uow.execute("INSERT INTO dead_test VALUES (%s)", [payload.person_id])

    async def handled(person_id: str) -> bool:
        async with db.unit_of_work(SYSTEM) as uow:
            return await uow.fetchone("SELECT 1 FROM dead_test WHERE person_id = %s",
                                      [person_id]) is not None

    async def parked() -> dict[str, int]:
        async with db.unit_of_work(SYSTEM) as uow:
            return {r[1]: r[0] for r in await uow.fetchall(
                "SELECT id, event_id FROM dead_letter WHERE consumer = %s", [group])}

    stuck, after, doomed = (_event(str(uuid.uuid4())) for _ in range(3))
    slow.update({stuck.aggregate_id, doomed.aggregate_id})
    producer = KafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
    for e in (stuck, after, doomed):
        producer.send(topic, key=b"k", value=e.SerializeToString())
    producer.flush()
    producer.close()
    consumer = EventConsumer(db, stack.kafka_bootstrap, group, [topic], {NEEDS: handle},
                             retry_delay_s=0.01, retry_poll_s=0.2)
    consumer.start()
    try:
        # The timeout is the record's fault, not an outage: parked, and the partition moves on.
        await _until(lambda: handled(after.aggregate_id), timeout=45)
        await _until(lambda: _has_all(parked(), {stuck.event_id, doomed.event_id}), timeout=20)
        ids = await parked()
        async with db.unit_of_work(SYSTEM) as uow:
            row = await uow.fetchone("SELECT error, attempts FROM dead_letter WHERE id = %s",
                                     [ids[stuck.event_id]])
        assert row is not None and "QueryCanceled" in row[0] and row[1] == 3

        code, out = await _cli(stack, "list", "--consumer", group)
        assert code == 0 and "2 dead letter(s)" in out and "QueryCanceled" in out
        assert str(ids[stuck.event_id]) in out and NEEDS in out

        # Still failing: the replay reports it failed again and keeps the row.
        code, out = await _cli(stack, "replay", str(ids[stuck.event_id]), "--wait", "20")
        assert code == 1 and "failed again" in out
        # Fixed (the slow query is gone): replayed by the running consumer, the row removed.
        slow.discard(stuck.aggregate_id)
        code, out = await _cli(stack, "replay", str(ids[stuck.event_id]), "--wait", "20")
        assert code == 0 and f"{ids[stuck.event_id]}\treplayed" in out
        assert await handled(stuck.aggregate_id)
        code, out = await _cli(stack, "discard", "--all", "--consumer", group)
        assert code == 0 and "discarded 1 dead letter(s)" in out
        assert await parked() == {}
        assert not await handled(doomed.aggregate_id)
        code, out = await _cli(stack, "discard")
        assert code == 2 and "by id, or --all" in out
    finally:
        await consumer.stop()
        await db.close()


async def _has_all(found: object, wanted: set[str]) -> bool:
    return wanted <= set(await found)  # type: ignore[misc]


async def test_the_relay_parks_a_record_the_broker_refuses_and_goes_on(
        stack: devstack.Stack, registry: str) -> None:
    """A record too large for the broker used to be retried for ever ahead of every later event;
    it is parked with its error, and the event after it (same key) is published."""
    key = f"too-large-{uuid.uuid4().hex[:8]}"
    big, small = (build_envelope(runtime_pb2.PendingEventExpired(consumer="x" * size),
                                 aggregate_type="test", aggregate_id=key, version=v,
                                 jurisdiction_path="/Tdead/", producer="test", actor="t",
                                 request_id="r") for size, v in ((2_000_000, 1), (10, 2)))
    db = Database(stack.database_url("registry"), "registry", 1, 2)
    await db.open()
    try:
        async with db.unit_of_work(SYSTEM) as uow:
            for e in (big, small):
                await uow.execute(
                    "INSERT INTO outbox (event_id, topic, record_key, event_type, envelope) "
                    "VALUES (%s, 'cdsp.registry.v1', %s, %s, %s)",
                    [e.event_id, key, e.event_type, e.SerializeToString()])
            await uow.execute("NOTIFY cdsp_outbox")
        reader = TopicReader(stack.kafka_bootstrap, "cdsp.registry.v1")
        try:
            found = await asyncio.to_thread(reader.wait_for, lambda es: bool(es), key, 45)
        finally:
            reader.close()
        assert [e.event_id for e in found] == [small.event_id]
        async with db.unit_of_work(SYSTEM) as uow:
            row = await uow.fetchone("SELECT id, parked_at IS NOT NULL, published_at, last_error "
                                     "FROM outbox WHERE event_id = %s", [big.event_id])
        assert row is not None and row[1] and row[2] is None
        assert "MessageSizeTooLarge" in row[3]

        def parked_gauge() -> float:
            page = urllib.request.urlopen(f"http://127.0.0.1:{stack.metrics_port('registry')}"
                                          "/metrics", timeout=5).read().decode()
            return next(float(line.split()[1]) for line in page.splitlines()
                        if line.startswith("cdsp_outbox_parked_events "))

        deadline = time.monotonic() + 30
        while parked_gauge() < 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        assert parked_gauge() >= 1
        code, out = await _cli(stack, "outbox-list")
        assert code == 0 and str(row[0]) in out and "MessageSizeTooLarge" in out
        code, out = await _cli(stack, "outbox-retry", str(row[0]), "--wait", "20")
        assert code == 1 and "parked again" in out
    finally:
        async with db.unit_of_work(SYSTEM) as uow:
            await uow.execute("DELETE FROM outbox WHERE record_key = %s", [key])
        await db.close()


async def test_the_inbox_keeps_only_what_a_redelivery_could_need(stack: devstack.Stack,
                                                                 registry: str) -> None:
    group = f"retention-{uuid.uuid4().hex[:8]}"
    db = Database(stack.database_url("registry"), "registry", 1, 2)
    await db.open()
    try:
        async with db.unit_of_work(SYSTEM) as uow:
            await uow.execute(
                "INSERT INTO inbox (consumer, event_id, topic, event_type, processed_at) "
                "SELECT %s, gen_random_uuid(), 't', 'e', now() - make_interval(days => d) "
                "FROM unnest(ARRAY[1, 34, 36, 90]) AS d", [group])
        before = REGISTRY.get_sample_value("cdsp_inbox_rows_purged_total") or 0.0
        assert await inbox.purge_expired(db, 35) >= 2
        async with db.unit_of_work(SYSTEM) as uow:
            left = await uow.fetchall("SELECT extract(day FROM now() - processed_at)::int "
                                      "FROM inbox WHERE consumer = %s ORDER BY 1", [group])
        assert [r[0] for r in left] == [1, 34]
        assert (REGISTRY.get_sample_value("cdsp_inbox_rows_purged_total") or 0) >= before + 2
    finally:
        async with db.unit_of_work(SYSTEM) as uow:
            await uow.execute("DELETE FROM inbox WHERE consumer = %s", [group])
        await db.close()
