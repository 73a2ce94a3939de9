"""Order where the registry's events meet their consumers: a person's registration, update and
archive, in every order a replay, a late consumer or a rebuild can deliver them, end with the
person archived at the archive's version in every projection (aid, employment, volunteer,
notification). Before: a poll was grouped by event type, and an archive applied to a person the
projection did not hold yet left nothing behind, so the late registration brought an archived
(deceased) person back as active."""

from __future__ import annotations

import itertools
from zoneinfo import ZoneInfo

import pytest

import devstack
from aid.config import AidRules
from aid.service.projection import projection_handlers
from cdsp.events.v1.envelope_pb2 import Envelope
from employment.service.projection import HANDLERS as EMPLOYMENT_HANDLERS
from notification.config import Notifier, NotifySettings
from notification.service.events import handlers as notification_handlers
from runtime.consumer import BatchHandler, EventConsumer, Handler
from runtime.db import Database
from tests.helpers import Tree
from tests.notification_helpers import ServiceDb, wait_until
from tests.registry_events import FakePerson, RegistryEvents, record
from volunteer.config import VolunteerRules, Volunteers
from volunteer.service.projection import handlers as volunteer_handlers

TZ = ZoneInfo("Asia/Shanghai")
# Each service's projection table of persons.
TABLES = {"aid": "persons", "employment": "candidates", "volunteer": "persons",
          "notification": "recipients"}
ORDERS = list(itertools.permutations(("registered", "updated", "archived")))


def _handlers(service: str, db: Database) -> tuple[dict[str, Handler], dict[str, BatchHandler]]:
    if service == "aid":
        return projection_handlers(AidRules())
    if service == "employment":
        return EMPLOYMENT_HANDLERS, {}
    if service == "volunteer":
        return volunteer_handlers(Volunteers(db, VolunteerRules(), TZ)), {}
    return notification_handlers(Notifier(db, NotifySettings(), TZ)), {}


def _events(person: FakePerson, order: tuple[str, ...]) -> list[Envelope]:
    made = {"registered": person.registered(), "updated": person.updated(grade=3),
            "archived": person.archived()}
    return [made[name] for name in order]


def _state(stack: devstack.Stack, service: str, person_id: str) -> tuple[bool, int] | None:
    rows = ServiceDb(stack.database_url(service)).rows(
        f"SELECT archived, version FROM {TABLES[service]} WHERE person_id = %s", [person_id])
    return (bool(rows[0][0]), int(rows[0][1])) if rows else None


@pytest.mark.parametrize("service", sorted(TABLES))
async def test_one_poll_in_every_order(stack: devstack.Stack, aid: str, employment: str,
                                       volunteer: str, notification: str, service: str) -> None:
    """One poll per order, each opened by another person's archive (which used to put every
    archive of the poll before every registration)."""
    db = Database(stack.database_url(service), service, 1, 2)
    await db.open()
    handlers, batches = _handlers(service, db)
    consumer = EventConsumer(db, stack.kafka_bootstrap, f"order-test-{service}",
                             ["cdsp.registry.v1"], handlers, batch_handlers=batches)
    try:
        for order in ORDERS:
            person, other = FakePerson("/Torder/g/"), FakePerson("/Torder/g/")
            await consumer.process_many([record(other.registered())])
            poll = [other.archived(version=2), *_events(person, order)]
            await consumer.process_many([record(e) for e in poll])
            assert _state(stack, service, person.person_id) == (True, 3), order
            assert _state(stack, service, other.person_id) == (True, 2), order
    finally:
        await db.close()


GROUPS = {"aid": "aid-registry-projection", "employment": "employment-registry-projection",
          "volunteer": "volunteer-registry-projection", "notification": "notification-recipients"}


def test_every_order_through_the_broker(tree: Tree, stack: devstack.Stack, aid: str,
                                        employment: str, volunteer: str,
                                        notification: str) -> None:
    """The same orders published on the real topic, for the four running services: once each
    service has consumed all three events of a person, the person is archived at version 3."""
    events = RegistryEvents(stack.kafka_bootstrap)
    persons = []
    try:
        for order in ORDERS:
            person = FakePerson(tree.grid_paths[0])
            envelopes = _events(person, order)
            events.publish(*envelopes)
            persons.append((order, person, [e.event_id for e in envelopes]))
    finally:
        events.close()
    for service, group in GROUPS.items():
        db = ServiceDb(stack.database_url(service))
        for order, person, ids in persons:
            wait_until(lambda d=db, g=group, i=ids: d.rows(  # type: ignore[misc]
                "SELECT count(*) FROM inbox WHERE consumer = %s AND event_id = ANY(%s::uuid[])",
                [g, i])[0][0] == 3, f"{service} consumed the events delivered {order}")
            assert _state(stack, service, person.person_id) == (True, 3), (service, order)
