"""Work held until what it names arrives (runtime.pending), against the real broker and database:
an event whose handler needs a person its projection does not hold is stored as pending, finished
as soon as the person arrives, finished without them (with PendingEventExpired) once its wait is
over, and parked if its handler then fails for good."""

from __future__ import annotations

import asyncio
import uuid

from kafka import KafkaProducer
from prometheus_client import REGISTRY

import devstack
from cdsp.events.v1 import aid_pb2 as aev
from cdsp.events.v1 import registry_pb2 as ev
from cdsp.events.v1 import runtime_pb2
from cdsp.events.v1.envelope_pb2 import Envelope
from runtime import pending
from runtime.auth import SYSTEM
from runtime.consumer import EventConsumer
from runtime.db import Database, UnitOfWork
from runtime.events import build_envelope, unpack_payload
from runtime.kafka_clients import ensure_topics
from tests.helpers import Tree
from tests.integration.test_consumer import _until
from tests.notification_helpers import AidEvents, ServiceDb, wait_until
from tests.registry_events import FakePerson, RegistryEvents

NEEDS = ev.PersonNeedsChanged.DESCRIPTOR.full_name
REGISTERED = ev.PersonRegistered.DESCRIPTOR.full_name


def _envelope(payload: object, person_id: str) -> Envelope:
    return build_envelope(payload, aggregate_type="person",  # type: ignore[arg-type]
                          aggregate_id=person_id, version=1, jurisdiction_path="/Tpending/",
                          producer="test", actor="t", request_id="r")


async def test_pending_until_the_person_arrives_expires_or_fails(stack: devstack.Stack,
                                                                 registry: str) -> None:
    topic = f"cdsp.test.{uuid.uuid4().hex[:8]}"
    group = f"pending-{uuid.uuid4().hex[:8]}"
    ensure_topics(stack.kafka_bootstrap, [topic], 1, 1)
    # Its own topic name for what it records (PendingEventExpired): the registry's relay
    # publishes it, but no consumer of the registry's topic sees it.
    db = Database(stack.database_url("registry"), "pendingtest", 1, 4)
    await db.open()
    async with db.unit_of_work(SYSTEM) as uow:
        await uow.execute("CREATE TABLE IF NOT EXISTS pending_test (person_id text, what text)")

    async def known(uow: UnitOfWork, person_id: str) -> bool:
        return await uow.fetchone("SELECT 1 FROM pending_test WHERE person_id = %s "
                                  "AND what = 'arrived'", [person_id]) is not None

    async def needs_person(envelope: Envelope, payload: object, uow: UnitOfWork) -> None:
        assert isinstance(payload, ev.PersonNeedsChanged)
        if payload.added == ["explode"] and not pending.may_wait():
            raise ValueError("this event cannot be finished")
        arrived = await known(uow, payload.person_id)
        if not arrived:
            pending.wait_for([f"person:{payload.person_id}"])
        await uow.execute("INSERT INTO pending_test VALUES (%s, %s)",
                          [payload.person_id, "done" if arrived else "done without them"])

    async def person_arrives(envelope: Envelope, payload: object, uow: UnitOfWork) -> None:
        assert isinstance(payload, ev.PersonRegistered)
        await uow.execute("INSERT INTO pending_test VALUES (%s, 'arrived')",
                          [payload.person.person_id])

    consumer = EventConsumer(db, stack.kafka_bootstrap, group, [topic],
                             {NEEDS: needs_person, REGISTERED: person_arrives},
                             retry_delay_s=0.01, retry_poll_s=0.2)
    producer = KafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")

    def publish(envelope: Envelope) -> None:
        producer.send(topic, key=envelope.aggregate_id.encode(),
                      value=envelope.SerializeToString()).get(10)

    async def seen(person_id: str) -> list[str]:
        async with db.unit_of_work(SYSTEM) as uow:
            return [r[0] for r in await uow.fetchall(
                "SELECT what FROM pending_test WHERE person_id = %s ORDER BY what", [person_id])]

    async def held(event_id: str) -> bool:
        async with db.unit_of_work(SYSTEM) as uow:
            return await uow.fetchone("SELECT 1 FROM pending_events WHERE consumer = %s AND "
                                      "event_id = %s", [group, event_id]) is not None

    consumer.start()
    try:
        # 1. The event comes first: it waits; the person arrives: it is finished at once.
        late = str(uuid.uuid4())
        early = _envelope(ev.PersonNeedsChanged(person_id=late, added=["relief"]), late)
        publish(early)
        await _until(lambda: held(early.event_id), timeout=45)
        assert await seen(late) == []
        publish(_envelope(ev.PersonRegistered(person=ev.PersonSnapshot(person_id=late)), late))
        await _until(lambda: _is(seen(late), ["arrived", "done"]), timeout=20)
        assert not await held(early.event_id)

        # 2. The person never arrives: once its wait is over, it is finished without them and
        #    says so (PendingEventExpired on the topic, cdsp_pending_events_expired_total).
        absent = str(uuid.uuid4())
        lonely = _envelope(ev.PersonNeedsChanged(person_id=absent, added=["relief"]), absent)
        publish(lonely)
        await _until(lambda: held(lonely.event_id), timeout=20)
        before = _expired(group)
        async with db.unit_of_work(SYSTEM) as uow:
            await uow.execute("UPDATE pending_events SET expires_at = now() WHERE consumer = %s "
                              "AND event_id = %s", [group, lonely.event_id])
        await _until(lambda: _is(seen(absent), ["done without them"]), timeout=20)
        assert not await held(lonely.event_id)
        assert _expired(group) == before + 1
        async with db.unit_of_work(SYSTEM) as uow:
            rows = await uow.fetchall("SELECT envelope FROM outbox WHERE topic = %s AND "
                                      "record_key = %s", ["cdsp.pendingtest.v1",
                                                          lonely.event_id])
        assert len(rows) == 1
        expired = unpack_payload(Envelope.FromString(bytes(rows[0][0])))
        assert isinstance(expired, runtime_pb2.PendingEventExpired)
        assert (expired.consumer, expired.event_id, list(expired.waiting_for)) == (
            group, lonely.event_id, [f"person:{absent}"])

        # 3. A handler that then fails for good parks the event: nothing is left pending.
        doomed = str(uuid.uuid4())
        bad = _envelope(ev.PersonNeedsChanged(person_id=doomed, added=["explode"]), doomed)
        publish(bad)
        await _until(lambda: held(bad.event_id), timeout=20)
        async with db.unit_of_work(SYSTEM) as uow:
            await uow.execute("UPDATE pending_events SET expires_at = now() WHERE consumer = %s "
                              "AND event_id = %s", [group, bad.event_id])

        async def parked() -> bool:
            async with db.unit_of_work(SYSTEM) as uow:
                row = await uow.fetchone("SELECT error FROM dead_letter WHERE consumer = %s "
                                         "AND event_id = %s", [group, bad.event_id])
            return row is not None and "cannot be finished" in row[0]

        await _until(parked, timeout=20)
        assert not await held(bad.event_id) and await seen(doomed) == []
    finally:
        producer.close()
        await consumer.stop()
        async with db.unit_of_work(SYSTEM) as uow:
            await uow.execute("DELETE FROM outbox WHERE topic = 'cdsp.pendingtest.v1'")
            await uow.execute("DELETE FROM dead_letter WHERE consumer = %s", [group])
        await db.close()


async def _is(found: object, expected: list[str]) -> bool:
    return await found == expected  # type: ignore[misc]


def _expired(group: str) -> float:
    value = REGISTRY.get_sample_value("cdsp_pending_events_expired_total", {"group": group})
    return value or 0.0


async def test_waiting_does_not_hold_up_later_events(stack: devstack.Stack,
                                                     registry: str) -> None:
    """A pending event is put aside: the records after it are applied at once."""
    topic = f"cdsp.test.{uuid.uuid4().hex[:8]}"
    group = f"pending-{uuid.uuid4().hex[:8]}"
    ensure_topics(stack.kafka_bootstrap, [topic], 1, 1)
    db = Database(stack.database_url("registry"), "pendingtest", 1, 4)
    await db.open()
    applied: list[str] = []

    async def handle(envelope: Envelope, payload: object, uow: UnitOfWork) -> None:
        assert isinstance(payload, ev.PersonNeedsChanged)
        if payload.added == ["wait"]:
            pending.wait_for([f"person:{payload.person_id}"])
        applied.append(payload.person_id)

    consumer = EventConsumer(db, stack.kafka_bootstrap, group, [topic], {NEEDS: handle})
    producer = KafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    for person_id, added in ((first, "wait"), (second, "go")):
        envelope = _envelope(ev.PersonNeedsChanged(person_id=person_id, added=[added]),
                             person_id)
        producer.send(topic, key=b"same-key", value=envelope.SerializeToString())
    producer.flush()
    producer.close()
    consumer.start()
    try:
        async def second_applied() -> bool:
            await asyncio.sleep(0)
            return second in applied

        await _until(second_applied, timeout=45)
        assert first not in applied
    finally:
        await consumer.stop()
        await db.close()


def test_a_warning_published_before_the_registration(
        tree: Tree, stack: devstack.Stack, notification: str, volunteer: str,
        aid_events: AidEvents) -> None:
    """The aid service's warning reaches the topic before the registry's registration of the
    person (the registry's topic lags): notification holds it and plans the notices once the
    person arrives (before: an undeliverable notice for ever); volunteer raises the colour once
    the person arrives (before: the person was skipped)."""
    person = FakePerson(tree.grid_paths[0])
    warning = aid_events.publish(aev.WarningRaised(
        household_id=person.household_id, case_id=str(uuid.uuid4()),
        level=aev.WARNING_LEVEL_RED, reason="medical spending",
        person_ids=[person.person_id]), tree.grid_paths[0], str(uuid.uuid4()))
    notify_db, volunteer_db = (ServiceDb(stack.database_url(s))
                               for s in ("notification", "volunteer"))
    for db, group in ((notify_db, "notification-notices"),
                      (volunteer_db, "volunteer-aid-warnings")):
        wait_until(lambda d=db, g=group: d.rows(
            "SELECT waiting_for FROM pending_events WHERE consumer = %s AND event_id = %s",
            [g, warning]) == [([f"person:{person.person_id}"],)], f"{group} holds the warning",
            timeout=60)
    assert notify_db.notices(warning) == []   # nothing planned, nothing undeliverable

    events = RegistryEvents(stack.kafka_bootstrap)
    try:
        events.publish(person.registered(), person.contact())
    finally:
        events.close()
    wait_until(lambda: ("resident", person.person_id, "", False, False) in
               notify_db.notices(warning), "the resident's notice once the person arrived",
               timeout=60)
    assert all(n[2] == "" for n in notify_db.notices(warning))  # nobody undeliverable
    wait_until(lambda: volunteer_db.rows("SELECT colour FROM persons WHERE person_id = %s",
                                         [person.person_id]) == [(3,)],
               "raised to red once the person arrived", timeout=60)
    for db, group in ((notify_db, "notification-notices"),
                      (volunteer_db, "volunteer-aid-warnings")):
        assert db.rows("SELECT 1 FROM pending_events WHERE consumer = %s AND event_id = %s",
                       [group, warning]) == []


def test_a_warning_for_an_archived_person_tells_nobody_but_the_grid(
        tree: Tree, stack: devstack.Stack, notification: str, volunteer: str,
        aid_events: AidEvents) -> None:
    """A deceased person's record is closed: no notice to them or their liaison, nothing held,
    no colour raised; the grid team still hears of the warning."""
    person = FakePerson(tree.grid_paths[0])
    events = RegistryEvents(stack.kafka_bootstrap)
    try:
        events.publish(person.registered(), person.archived(version=2))
    finally:
        events.close()
    notify_db, volunteer_db = (ServiceDb(stack.database_url(s))
                               for s in ("notification", "volunteer"))
    for db, table in ((notify_db, "recipients"), (volunteer_db, "persons")):
        wait_until(lambda d=db, t=table: d.rows(
            f"SELECT archived FROM {t} WHERE person_id = %s", [person.person_id]) == [(True,)],
            f"archived in {table}")
    warning = aid_events.publish(aev.WarningRaised(
        household_id=person.household_id, case_id=str(uuid.uuid4()),
        level=aev.WARNING_LEVEL_RED, reason="medical spending",
        person_ids=[person.person_id]), tree.grid_paths[0], str(uuid.uuid4()))
    found = wait_until(lambda: notify_db.notices(warning), "the grid team's notice")
    assert [(n[0], n[2]) for n in found] == [("grid_team", "")]
    wait_until(lambda: volunteer_db.rows(
        "SELECT count(*) FROM inbox WHERE consumer = 'volunteer-aid-warnings' "
        "AND event_id = %s", [warning]) == [(1,)], "volunteer consumed the warning")
    assert volunteer_db.rows("SELECT colour FROM persons WHERE person_id = %s",
                             [person.person_id]) != [(3,)]
    for db in (notify_db, volunteer_db):
        assert db.rows("SELECT 1 FROM pending_events WHERE event_id = %s", [warning]) == []
