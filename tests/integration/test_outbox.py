"""The outbox: a change and its event commit together; nothing is lost while the broker or the
service is down, and nothing is stored twice."""

from __future__ import annotations

import signal
import time
import urllib.request

import psycopg
import pytest

import devstack
from cdsp.events.v1 import registry_pb2 as ev
from runtime.auth import SYSTEM
from runtime.db import Database
from tests.events import TopicReader
from tests.helpers import Tree

TOPIC = "cdsp.registry.v1"


def _metric(stack: devstack.Stack, name: str) -> float:
    page = urllib.request.urlopen(
        f"http://127.0.0.1:{stack.metrics_port('registry')}/metrics", timeout=5).read().decode()
    for line in page.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not exported")


def _wait(predicate: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


async def test_events_commit_or_roll_back_with_the_change(stack: devstack.Stack,
                                                          registry: str) -> None:
    db = Database(stack.database_url("registry"), "registry", 1, 2)
    await db.open()
    try:
        marker = "rollback-test-" + str(time.time_ns())
        with pytest.raises(RuntimeError):
            async with db.unit_of_work(SYSTEM) as uow:
                uow.record(ev.PersonArchived(person_id=marker), aggregate_type="person",
                           aggregate_id=marker, version=1, jurisdiction_path="/x/")
                raise RuntimeError("the change fails after recording its event")
        async with db.unit_of_work(SYSTEM) as uow:
            row = await uow.fetchone("SELECT count(*) FROM outbox WHERE record_key = %s",
                                     [marker])
            assert row == (0,)
            uow.record(ev.PersonArchived(person_id=marker), aggregate_type="person",
                       aggregate_id=marker, version=1, jurisdiction_path="/x/")
        async with db.unit_of_work(SYSTEM) as uow:
            row = await uow.fetchone("SELECT count(*), min(event_type) FROM outbox "
                                     "WHERE record_key = %s", [marker])
            assert row == (1, "cdsp.events.v1.PersonArchived")
    finally:
        await db.close()


@pytest.mark.restarts_broker
def test_broker_outage_loses_nothing(tree: Tree, stack: devstack.Stack,
                                     registry_db: psycopg.Connection) -> None:
    first = tree.register()
    reader = TopicReader(stack.kafka_bootstrap, "cdsp.registry.v1")
    reader.wait_for(lambda found: len(found) == 1, key=first.person_id)
    reader.close()

    devstack.stop_broker(stack)
    try:
        during = [tree.register().person_id for _ in range(15)]  # the service keeps working
        _wait(lambda: _metric(stack, "cdsp_outbox_backlog_events") >= 15, timeout=30)
        assert _metric(stack, "cdsp_outbox_oldest_event_age_seconds") > 0
    finally:
        devstack.start_broker(stack)  # a new, empty broker: its topics are gone too

    reader = TopicReader(stack.kafka_bootstrap, "cdsp.registry.v1")
    try:
        found = reader.wait_for(
            lambda envs: set(during) <= {e.aggregate_id for e in envs}, timeout=90)
    finally:
        reader.close()
    registered = [e for e in found if e.aggregate_id in set(during)]
    assert len(registered) >= 15
    # The relay marks them published once the broker acknowledged them: a reader can see them
    # a moment before that commit.
    _wait(lambda: registry_db.execute(
        "SELECT count(*), count(DISTINCT event_id), count(published_at) FROM outbox "
        "WHERE record_key = ANY(%s) AND topic = %s", [during, TOPIC]).fetchone() == (15, 15, 15),
        timeout=30)
    _wait(lambda: _metric(stack, "cdsp_outbox_backlog_events") == 0, timeout=30)


@pytest.mark.restarts_broker
def test_service_killed_with_pending_events_publishes_them_after_restart(
        tree: Tree, stack: devstack.Stack, registry_db: psycopg.Connection) -> None:
    devstack.stop_broker(stack)
    try:
        pending = [tree.register().person_id for _ in range(5)]
        devstack.stop_service(stack, "registry", signal.SIGKILL)
    finally:
        devstack.start_broker(stack)
    try:  # (each registration also wrote its contact event, on the contacts topic)
        unpublished = registry_db.execute(
            "SELECT count(*) FROM outbox WHERE record_key = ANY(%s) AND topic = %s "
            "AND published_at IS NULL", [pending, TOPIC]).fetchone()
    finally:  # the session's registry runs again whatever this test finds
        devstack.start_service(stack, "registry", {"CDSP_SHUTDOWN_GRACE_S": "5"})
    assert unpublished == (5,)
    reader = TopicReader(stack.kafka_bootstrap, "cdsp.registry.v1")
    try:
        reader.wait_for(lambda envs: set(pending) <= {e.aggregate_id for e in envs}, timeout=60)
    finally:
        reader.close()
    published = registry_db.execute(
        "SELECT count(*) FROM outbox WHERE record_key = ANY(%s) AND topic = %s "
        "AND published_at IS NOT NULL", [pending, TOPIC]).fetchone()
    assert published == (5,)
