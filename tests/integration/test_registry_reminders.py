"""The registry's reminders, announced once each: this month's check of a record (due from the
1st, overdue from the 5th, local time) and the certificate of a child who has turned 3.

The scans are the service-layer functions the registry's periodic jobs run, called here for a
chosen instant on a Registry built on the session's registry database, with the scope of the
test's own city (so the persons of other tests are neither read nor announced)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

import devstack
from cdsp.events.v1 import registry_pb2 as ev
from cdsp.registry.v1 import registry_pb2 as pb
from registry.config import Registry
from registry.domain.person import DEFAULT_PRIORITY_GROUPS
from registry.domain.resident_id import birthday, born_by
from registry.service.reminders import scan_certification_due, scan_verifications
from runtime.auth import SYSTEM, Caller
from runtime.db import Database
from runtime.events import unpack_payload
from tests.events import TopicReader
from tests.helpers import Tree, age_record, baby

TZ = ZoneInfo("Asia/Shanghai")
DUE, OVERDUE = "cdsp.events.v1.VerificationDue", "cdsp.events.v1.VerificationOverdue"
CERTIFICATION_DUE = "cdsp.events.v1.CertificationDue"


@pytest.fixture
async def registry_state(stack: devstack.Stack, registry: str) -> AsyncIterator[Registry]:
    db = Database(stack.database_url("registry"), "registry", 1, 4)
    await db.open()
    try:
        yield Registry(db, DEFAULT_PRIORITY_GROUPS, TZ)
    finally:
        await db.close()


def city(tree: Tree) -> Caller:
    """The scans' system caller, narrowed to the test's city."""
    return Caller(subject="system", role="service", scopes=(tree.city_path,))


def local(day: date, hour: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, second, tzinfo=TZ)


def next_month(day: date, months: int = 1) -> date:
    """The 1st of the month `months` after `day`'s."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


async def outbox(reg: Registry, person_id: str) -> list[str]:
    """The person's events on the registry topic (not the contacts topic's copies)."""
    async with reg.db.unit_of_work(SYSTEM) as uow:
        rows = await uow.fetchall("SELECT event_type FROM outbox WHERE record_key = %s "
                                  "AND topic = 'cdsp.registry.v1' ORDER BY id", [person_id])
    return [r[0] for r in rows]


async def test_each_months_check_is_announced_due_then_overdue_once(
        tree: Tree, registry_state: Registry, registry_db: psycopg.Connection,
        stack: devstack.Stack) -> None:
    reg, scope = registry_state, city(tree)
    p, q = tree.register(), tree.register()
    assert await scan_verifications(reg, scope=scope) == {"due": 0, "overdue": 0}  # registered

    first = next_month(datetime.now(TZ).date())
    assert await scan_verifications(reg, local(first, 10), scope) == {"due": 2, "overdue": 0}
    assert await scan_verifications(reg, local(first, 11), scope) == {"due": 0, "overdue": 0}
    # q's grid worker checks the record on the 3rd.
    with registry_db.transaction():
        registry_db.execute("SELECT set_config('cdsp.scope', '/%', true)")
        registry_db.execute("UPDATE persons SET last_verified_at = %s WHERE person_id = %s",
                            [local(first.replace(day=3), 9), q.person_id])
    before_the_5th = local(first.replace(day=5)) - timedelta(seconds=1)
    assert await scan_verifications(reg, before_the_5th, scope) == {"due": 0, "overdue": 0}
    on_the_5th = local(first.replace(day=5))
    assert await scan_verifications(reg, on_the_5th, scope) == {"due": 0, "overdue": 1}
    assert await scan_verifications(reg, on_the_5th + timedelta(hours=1), scope) == {
        "due": 0, "overdue": 0}
    # The next month, the scan first runs on the 6th: both are due, and overdue.
    then = next_month(first)
    assert await scan_verifications(reg, local(then.replace(day=6), 8), scope) == {
        "due": 2, "overdue": 2}

    assert await outbox(reg, p.person_id) == ["cdsp.events.v1.PersonRegistered",
                                              DUE, OVERDUE, DUE, OVERDUE]
    assert await outbox(reg, q.person_id) == ["cdsp.events.v1.PersonRegistered", DUE, DUE,
                                              OVERDUE]
    reader = TopicReader(stack.kafka_bootstrap, "cdsp.registry.v1")
    try:
        found = reader.wait_for(lambda envs: len(envs) >= 5, key=p.person_id)
    finally:
        reader.close()
    reminders = found[1:]
    assert all((e.aggregate_version, e.jurisdiction_path) == (1, tree.grid_paths[0])
               for e in reminders)  # a reminder is not a change of the record
    payloads = [unpack_payload(e) for e in reminders]
    assert [type(x).__name__ for x in payloads] == ["VerificationDue", "VerificationOverdue"] * 2
    assert [x.month for x in payloads] == [  # type: ignore[attr-defined]
        f"{first:%Y-%m}", f"{first:%Y-%m}", f"{then:%Y-%m}", f"{then:%Y-%m}"]
    due_by = [x.due_by.ToDatetime(tzinfo=UTC) for x in payloads]  # type: ignore[attr-defined]
    assert due_by[0] == due_by[1] == local(first.replace(day=5))
    assert due_by[2] == local(then.replace(day=5))
    assert all(x.person_id == p.person_id  # type: ignore[attr-defined]
               and x.last_verified_at.ToDatetime(tzinfo=UTC)  # type: ignore[attr-defined]
               == p.last_verified_at.ToDatetime(tzinfo=UTC) for x in payloads)
    after = tree.admin.GetPerson(pb.GetPersonRequest(person_id=p.person_id))
    assert (after.version, after.updated_at) == (1, p.updated_at)


async def test_replicas_scanning_at_once_announce_each_reminder_once(
        tree: Tree, registry_state: Registry, registry_db: psycopg.Connection) -> None:
    reg, scope = registry_state, city(tree)
    household = tree.household()
    persons = [tree.register(household) for _ in range(6)]
    child = baby(tree, household)
    age_record(registry_db, child.person_id, born_by(reg.today(), 3))
    at = local(next_month(datetime.now(TZ).date(), 2).replace(day=7), 9)
    months = await asyncio.gather(*(scan_verifications(reg, at, scope) for _ in range(3)))
    assert sum(m["due"] for m in months) == sum(m["overdue"] for m in months) == 7
    certificates = await asyncio.gather(*(scan_certification_due(reg, scope=scope)
                                          for _ in range(3)))
    assert sum(certificates) == 1
    for person in [*persons, child]:
        expected = [DUE, OVERDUE] + ([CERTIFICATION_DUE] if person is child else [])
        assert (await outbox(reg, person.person_id))[1:] == expected


async def test_a_child_who_turned_three_is_announced_once_and_certifying_ends_it(
        tree: Tree, registry_state: Registry, registry_db: psycopg.Connection,
        stack: devstack.Stack) -> None:
    reg, scope = registry_state, city(tree)
    today = reg.today()
    grown = baby(tree)
    grown_born = born_by(today, 3) - timedelta(days=40)
    age_record(registry_db, grown.person_id, grown_born)
    soon = baby(tree, born=born_by(today, 3) + timedelta(days=10))
    certified = baby(tree)
    age_record(registry_db, certified.person_id, born_by(today, 3) - timedelta(days=1))
    tree.admin.UpdatePerson(pb.UpdatePersonRequest(  # certified before the scan found them
        person=pb.Person(person_id=certified.person_id, certified=True, grade=2),
        update_mask=FieldMask(paths=["certified", "grade"]), expected_version=1))
    tree.register()  # a certified adult

    assert await scan_certification_due(reg, scope=scope) == 1
    assert await scan_certification_due(reg, scope=scope) == 0
    assert await scan_certification_due(reg, today + timedelta(days=9), scope) == 0
    assert await scan_certification_due(reg, today + timedelta(days=10), scope) == 1
    assert await scan_certification_due(reg, today + timedelta(days=400), scope) == 0
    assert await outbox(reg, certified.person_id) == ["cdsp.events.v1.PersonRegistered",
                                                      "cdsp.events.v1.PersonUpdated"]
    # Other changes to the announced record still work.
    updated = tree.admin.UpdatePerson(pb.UpdatePersonRequest(
        person=pb.Person(person_id=grown.person_id, needs=[pb.Need(code="rehabilitation")]),
        update_mask=FieldMask(paths=["needs"]), expected_version=1))
    assert updated.version == 2

    reader = TopicReader(stack.kafka_bootstrap, "cdsp.registry.v1")
    try:
        found = reader.wait_for(lambda envs: any(e.event_type == CERTIFICATION_DUE
                                                 for e in envs), key=grown.person_id)
        later = reader.wait_for(lambda envs: any(e.event_type == CERTIFICATION_DUE
                                                 for e in envs), key=soon.person_id)
    finally:
        reader.close()
    event = next(e for e in found if e.event_type == CERTIFICATION_DUE)
    payload = unpack_payload(event)
    assert isinstance(payload, ev.CertificationDue) and payload.person_id == grown.person_id
    third = birthday(grown_born, 3)
    assert (payload.third_birthday.year, payload.third_birthday.month,
            payload.third_birthday.day) == (third.year, third.month, third.day)
    assert (event.aggregate_version, event.jurisdiction_path) == (1, tree.grid_paths[0])
    assert [e.event_type for e in later].count(CERTIFICATION_DUE) == 1
