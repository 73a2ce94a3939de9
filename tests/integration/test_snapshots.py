"""Rebuilds and late consumers: the registry re-publishes the current state of its persons,
households and jurisdictions as snapshot events (`python -m runtime.snapshot_cli registry`), and
a projection lost to a restore is rebuilt from them in every consuming service; snapshot events
reach projection handlers only, never a handler with side effects."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from google.protobuf.field_mask_pb2 import FieldMask

import devstack
from cdsp.events.v1 import registry_pb2 as ev
from cdsp.events.v1.envelope_pb2 import Envelope
from cdsp.registry.v1 import registry_pb2 as pb
from runtime.consumer import EventConsumer, applies_snapshots
from runtime.db import Database, UnitOfWork
from runtime.events import unpack_payload
from tests.events import TopicReader
from tests.helpers import Tree
from tests.notification_helpers import ServiceDb, wait_until
from tests.registry_events import FakePerson, record

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TABLES = {"aid": "persons", "employment": "candidates", "volunteer": "persons",
          "notification": "recipients"}


def snapshot_cli(stack: devstack.Stack, service: str, *args: str
                 ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtime.snapshot_cli", service, *args],
        env={**os.environ, "PYTHONPATH": os.path.join(ROOT, "services"),
             "CDSP_DATABASE_URL": stack.database_url(service)},
        capture_output=True, text=True, timeout=300, check=False)


def _states(stack: devstack.Stack, service: str, ids: list[str]) -> dict[str, tuple[bool, int]]:
    rows = ServiceDb(stack.database_url(service)).rows(
        f"SELECT person_id::text, archived, version FROM {TABLES[service]} "
        "WHERE person_id = ANY(%s::uuid[])", [ids])
    return {r[0]: (bool(r[1]), int(r[2])) for r in rows}


def test_a_restored_projection_is_rebuilt_from_the_registry_s_snapshot(
        tree: Tree, stack: devstack.Stack, aid: str, employment: str, volunteer: str,
        notification: str) -> None:
    kept = tree.register(tree.household())
    changed = tree.register(tree.household())
    changed = tree.admin.UpdatePerson(pb.UpdatePersonRequest(
        person=pb.Person(person_id=changed.person_id, phone="13711112222"),
        update_mask=FieldMask(paths=["phone"]), expected_version=1))
    gone = tree.register(tree.household())
    gone = tree.admin.ArchivePerson(pb.ArchivePersonRequest(
        person_id=gone.person_id, reason=ev.ARCHIVE_REASON_MOVED_OUT, expected_version=1))
    expected = {kept.person_id: (False, 1), changed.person_id: (False, 2),
                gone.person_id: (True, 2)}
    ids = sorted(expected)
    for service in TABLES:
        wait_until(lambda s=service: _states(stack, s, ids) == expected,
                   f"{service} holds the three persons", timeout=60)
        # A restore from an older backup: the projection has lost them.
        ServiceDb(stack.database_url(service)).rows(
            f"DELETE FROM {TABLES[service]} WHERE person_id = ANY(%s::uuid[]) RETURNING 1", [ids])
        assert _states(stack, service, ids) == {}

    done = snapshot_cli(stack, "registry", "--only", "person", "--page", "7")
    assert done.returncode == 0, done.stderr
    counted = dict(line.split("\t") for line in done.stdout.splitlines())
    assert set(counted) == {"person"} and int(counted["person"]) >= 3
    for service in TABLES:
        wait_until(lambda s=service: _states(stack, s, ids) == expected,
                   f"{service} rebuilt from the snapshot", timeout=60)

    reader = TopicReader(stack.kafka_bootstrap, "cdsp.registry.v1")
    try:
        envelopes = reader.wait_for(lambda found: any(e.snapshot for e in found),
                                    key=gone.person_id)
    finally:
        reader.close()
    state = [e for e in envelopes if e.snapshot][-1]
    archived = unpack_payload(state)
    assert isinstance(archived, ev.PersonArchived) and archived.person.archived
    assert (state.aggregate_version, state.jurisdiction_path) == (2, tree.grid_paths[0])
    assert gone.resident_id.encode() not in state.SerializeToString()
    # Nothing the snapshot carried was news for anyone: no notice was made from it.
    assert ServiceDb(stack.database_url("notification")).rows(
        "SELECT count(*) FROM notices WHERE source_event_id = %s", [state.event_id]) == [(0,)]


def test_the_command_refuses_what_it_cannot_do(stack: devstack.Stack, registry: str) -> None:
    unknown = snapshot_cli(stack, "registry", "--only", "kittens")
    assert unknown.returncode == 2 and "unknown aggregate types ['kittens']" in unknown.stderr
    nothing = snapshot_cli(stack, "nosuchservice")
    assert nothing.returncode == 2 and "cannot read the snapshot sources" in nothing.stderr


async def test_snapshots_reach_projections_only(stack: devstack.Stack, registry: str) -> None:
    db = Database(stack.database_url("registry"), "registry", 1, 2)
    await db.open()
    seen: list[str] = []

    @applies_snapshots
    async def project(envelope: Envelope, payload: object, uow: UnitOfWork) -> None:
        seen.append(f"projected {envelope.snapshot}")

    async def notify(envelope: Envelope, payload: object, uow: UnitOfWork) -> None:
        seen.append(f"notified {envelope.snapshot}")

    consumer = EventConsumer(db, stack.kafka_bootstrap, f"snap-{uuid.uuid4().hex[:8]}",
                             ["cdsp.registry.v1"],
                             {ev.PersonUpdated.DESCRIPTOR.full_name: project,
                              ev.PersonArchived.DESCRIPTOR.full_name: notify})
    person = FakePerson("/Tsnap/")
    live_update, live_archive = person.updated(), person.archived()
    snapped = [Envelope.FromString(e.SerializeToString()) for e in (person.updated(version=4),
                                                                    person.archived(version=5))]
    for e in snapped:
        e.snapshot = True
    try:
        await consumer.process_many([record(e) for e in (live_update, live_archive, *snapped)])
    finally:
        await db.close()
    assert seen == ["projected False", "notified False", "projected True"]
