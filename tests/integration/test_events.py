"""Every change reaches the broker as its event, through the outbox, in order, and only then."""

from __future__ import annotations

import psycopg
from google.protobuf.field_mask_pb2 import FieldMask

import devstack
from cdsp.events.v1 import registry_pb2 as ev
from cdsp.registry.v1 import registry_pb2 as pb
from runtime.events import unpack_payload
from tests.events import TopicReader
from tests.helpers import Tree, rpc_error


def test_a_person_s_life_as_events(tree: Tree, stack: devstack.Stack,
                                   registry_db: psycopg.Connection) -> None:
    p = tree.register(needs=[pb.Need(code="relief")])
    tree.admin.UpdatePerson(pb.UpdatePersonRequest(
        person=pb.Person(person_id=p.person_id, needs=[pb.Need(code="assistive_device")]),
        update_mask=FieldMask(paths=["needs"]), expected_version=1))
    rpc_error(tree.admin.UpdatePerson, pb.UpdatePersonRequest(  # refused: no event
        person=pb.Person(person_id=p.person_id, grade=9), update_mask=FieldMask(paths=["grade"]),
        expected_version=2))
    tree.admin.RecordVerification(pb.RecordVerificationRequest(person_id=p.person_id))
    tree.admin.ArchivePerson(pb.ArchivePersonRequest(
        person_id=p.person_id, reason=ev.ARCHIVE_REASON_MOVED_OUT, expected_version=3))

    reader = TopicReader(stack.kafka_bootstrap, "cdsp.registry.v1")
    try:
        envelopes = reader.wait_for(lambda found: len(found) >= 5, key=p.person_id)
        raw = [value for key, value in reader.records if key == p.person_id.encode()]
    finally:
        reader.close()
    assert [(e.event_type.rsplit(".", 1)[1], e.aggregate_version) for e in envelopes] == [
        ("PersonRegistered", 1), ("PersonUpdated", 2), ("PersonNeedsChanged", 2),
        ("VerificationRecorded", 3), ("PersonArchived", 4)]
    assert len({e.event_id for e in envelopes}) == 5
    assert all(e.aggregate_id == p.person_id and e.producer == "registry" for e in envelopes)
    assert all(e.jurisdiction_path == tree.grid_paths[0] for e in envelopes)
    registered = unpack_payload(envelopes[0])
    assert isinstance(registered, ev.PersonRegistered)
    assert registered.person.household_monthly_income_fen == 250_000
    updated = unpack_payload(envelopes[1])
    assert isinstance(updated, ev.PersonUpdated) and list(updated.changed_fields) == ["needs"]
    needs = unpack_payload(envelopes[2])
    assert isinstance(needs, ev.PersonNeedsChanged)
    assert (list(needs.added), list(needs.removed)) == (["assistive_device"], ["relief"])
    # The resident ID and certificate number never leave the registry.
    assert not any(p.resident_id.encode() in value for value in raw)
    # One outbox row per event, all published.
    rows = registry_db.execute("SELECT count(*), count(published_at) FROM outbox "
                               "WHERE record_key = %s", [p.person_id]).fetchone()
    assert rows == (5, 5)
