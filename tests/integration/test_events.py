"""Every change reaches the broker as its event, through the outbox, in order, and only then."""

from __future__ import annotations

import psycopg
from google.protobuf.field_mask_pb2 import FieldMask

import devstack
from cdsp.events.v1 import registry_pb2 as ev
from cdsp.registry.v1 import registry_pb2 as pb
from runtime.events import unpack_payload
from tests.events import TopicReader
from tests.helpers import Tree, rpc_error, stub, token, violations


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
    # The archive carries the record as archived: a projection keeps it as a versioned tombstone.
    archived = unpack_payload(envelopes[4])
    assert isinstance(archived, ev.PersonArchived) and archived.person.archived
    assert archived.person.person_id == p.person_id and not archived.person.living_alone
    # The resident ID and certificate number never leave the registry.
    assert not any(p.resident_id.encode() in value for value in raw)
    # One outbox row per event, all published; and the contact (registered, then erased by the
    # archive) on its own topic.
    rows = registry_db.execute("SELECT topic, count(*), count(published_at) FROM outbox "
                               "WHERE record_key = %s GROUP BY topic ORDER BY topic",
                               [p.person_id]).fetchall()
    assert rows == [("cdsp.registry.contacts.v1", 2, 2), ("cdsp.registry.v1", 5, 5)]


def test_jurisdictions_are_announced_and_their_living_standard_can_change(
        tree: Tree, stack: devstack.Stack) -> None:
    """The registry is the one source of the minimum living standard: every jurisdiction is
    announced when created and when changed, with a version."""
    city = tree.admin.GetJurisdiction(pb.GetJurisdictionRequest(code=tree.city))
    assert (city.minimum_living_standard_fen, city.version) == (93_000, 1)
    changed = tree.admin.UpdateJurisdiction(pb.UpdateJurisdictionRequest(
        jurisdiction=pb.Jurisdiction(code=tree.city, minimum_living_standard_fen=98_000),
        update_mask=FieldMask(paths=["minimum_living_standard_fen"]), expected_version=1))
    assert (changed.minimum_living_standard_fen, changed.version, changed.name) == (
        98_000, 2, city.name)
    stale = rpc_error(tree.admin.UpdateJurisdiction, pb.UpdateJurisdictionRequest(
        jurisdiction=pb.Jurisdiction(code=tree.city, name="新名"),
        update_mask=FieldMask(paths=["name"]), expected_version=1))
    assert stale.code().name == "FAILED_PRECONDITION" and "stale" in stale.details()
    bad = rpc_error(tree.admin.UpdateJurisdiction, pb.UpdateJurisdictionRequest(
        jurisdiction=pb.Jurisdiction(code=tree.city, minimum_living_standard_fen=-1),
        update_mask=FieldMask(paths=["minimum_living_standard_fen"]), expected_version=2))
    assert violations(bad) == {"jurisdiction.minimum_living_standard_fen":
                               "fen per month, 0 to 100,000 yuan"}
    unknown = rpc_error(tree.admin.UpdateJurisdiction, pb.UpdateJurisdictionRequest(
        jurisdiction=pb.Jurisdiction(code=tree.city, path="/X/"),
        update_mask=FieldMask(paths=["path"]), expected_version=2))
    assert "update_mask" in violations(unknown)
    missing = rpc_error(tree.admin.UpdateJurisdiction, pb.UpdateJurisdictionRequest(
        jurisdiction=pb.Jurisdiction(code=tree.city + "-none", name="x"),
        update_mask=FieldMask(paths=["name"]), expected_version=1))
    assert missing.code().name == "NOT_FOUND"
    worker = rpc_error(tree.worker(0, "community_worker").UpdateJurisdiction,
                       pb.UpdateJurisdictionRequest(
                           jurisdiction=pb.Jurisdiction(code=tree.city, name="x"),
                           update_mask=FieldMask(paths=["name"]), expected_version=2))
    assert worker.code().name == "PERMISSION_DENIED"
    outsider = stub(tree.addr, token("city_admin", ["/Tnowhere/"]))
    foreign = rpc_error(outsider.UpdateJurisdiction, pb.UpdateJurisdictionRequest(
        jurisdiction=pb.Jurisdiction(code=tree.city, name="x"),
        update_mask=FieldMask(paths=["name"]), expected_version=2))
    assert foreign.code().name == "PERMISSION_DENIED"
    assert tree.admin.GetJurisdiction(pb.GetJurisdictionRequest(code=tree.city)).version == 2

    reader = TopicReader(stack.kafka_bootstrap, "cdsp.registry.v1")
    try:
        envelopes = reader.wait_for(lambda found: len(found) >= 2, key=tree.city)
        grid = reader.wait_for(lambda found: len(found) >= 1, key=tree.grids[0])
    finally:
        reader.close()
    assert [(e.event_type, e.aggregate_type, e.aggregate_version) for e in envelopes] == [
        ("cdsp.events.v1.JurisdictionChanged", "jurisdiction", 1),
        ("cdsp.events.v1.JurisdictionChanged", "jurisdiction", 2)]
    first, second = (unpack_payload(e) for e in envelopes)
    assert isinstance(first, ev.JurisdictionChanged) and isinstance(second, ev.JurisdictionChanged)
    assert (first.minimum_living_standard_fen, second.minimum_living_standard_fen) == (
        93_000, 98_000)
    assert (second.path, second.level, second.parent_code) == (tree.city_path, 1, "")
    grid_event = unpack_payload(grid[0])
    assert isinstance(grid_event, ev.JurisdictionChanged)
    assert (grid_event.path, grid_event.level, grid_event.parent_code) == (
        tree.grid_paths[0], 5, tree.community)
