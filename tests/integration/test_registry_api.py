"""The registry's calls over gRPC against the real service process and database."""

from __future__ import annotations

import uuid
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import psycopg
from google.protobuf.field_mask_pb2 import FieldMask

import devstack
from cdsp.common.v1 import common_pb2 as common
from cdsp.events.v1 import registry_pb2 as ev
from cdsp.registry.v1 import registry_pb2 as pb
from registry.config import Registry
from registry.domain.person import DEFAULT_PRIORITY_GROUPS
from registry.service.visit_needs import add_visit_needs
from runtime.auth import SYSTEM
from runtime.db import Database
from runtime.events import unpack_payload
from runtime.logs import mask_resident_id
from tests.events import TopicReader
from tests.helpers import (
    Tree,
    age_record,
    baby,
    person,
    resident_id,
    rpc_error,
    stub,
    token,
    violations,
    years_ago,
)


def _count(db: psycopg.Connection, scope: str) -> int:
    with db.transaction():
        db.execute("SELECT set_config('cdsp.scope', %s, true)", [scope + "%"])
        row = db.execute("SELECT count(*) FROM persons WHERE jurisdiction_path LIKE %s",
                         [scope + "%"]).fetchone()
    assert row is not None
    return int(row[0])


def test_register_derives_identity_fields(tree: Tree) -> None:
    rid = resident_id(years_ago(45), male=False)
    p = tree.register(resident_id=rid, category=common.DISABILITY_CATEGORY_VISUAL, grade=1)
    assert p.sex == common.SEX_FEMALE
    assert (p.birth_date.year, p.birth_date.month, p.birth_date.day) == (
        int(rid[6:10]), int(rid[10:12]), int(rid[12:14]))
    assert p.certificate_number == rid + "11"
    assert p.version == 1 and p.status == pb.PERSON_STATUS_ACTIVE
    assert p.jurisdiction_path == tree.grid_paths[0]
    assert p.household_monthly_income_fen == 250_000
    fetched = tree.admin.GetPerson(pb.GetPersonRequest(person_id=p.person_id))
    assert fetched == p


def test_duplicate_resident_id_is_already_exists_and_masked(tree: Tree) -> None:
    rid = resident_id(years_ago(30))
    tree.register(resident_id=rid)
    exc = rpc_error(lambda: tree.register(resident_id=rid))
    assert exc.code() == grpc.StatusCode.ALREADY_EXISTS
    assert rid not in (exc.details() or "")


def test_bad_input_names_every_field_and_writes_nothing(tree: Tree,
                                                        registry_db: psycopg.Connection) -> None:
    before = _count(registry_db, tree.city_path)
    household = tree.household()
    bad = person(household.household_id, resident_id="110105194912310021", grade=9, phone="12345",
                 name="", living_situation=0)
    exc = rpc_error(tree.admin.RegisterPerson, pb.RegisterPersonRequest(person=bad))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = violations(exc)
    assert {"resident_id", "grade", "phone", "name", "living_situation"} <= set(fields)
    assert "check digit" in fields["resident_id"]
    assert _count(registry_db, tree.city_path) == before


def test_certificate_must_match_id_category_and_grade(tree: Tree) -> None:
    rid = resident_id(years_ago(50))
    exc = rpc_error(lambda: tree.register(resident_id=rid, category=4, grade=2,
                                          certificate_number=rid + "24"))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "certificate_number" in violations(exc)
    assert tree.register(resident_id=rid, category=4, grade=2,
                         certificate_number=rid + "42").certificate_number == rid + "42"


def test_uncertified_only_under_three(tree: Tree) -> None:
    baby = tree.register(resident_id=resident_id(years_ago(2)), certified=False, grade=0,
                         guardian=pb.Guardian(name="母亲", phone="13700001111", relation="母亲"),
                         phone="")
    assert not baby.certified and baby.certificate_number == ""
    assert "disabled_children" in baby.priority_groups
    exc = rpc_error(lambda: tree.register(resident_id=resident_id(years_ago(3, days=1)),
                                          certified=False, grade=0))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "certified" in violations(exc)


def test_update_with_mask_and_optimistic_concurrency(tree: Tree) -> None:
    p = tree.register()
    change = pb.Person(person_id=p.person_id, phone="13800002222",
                       needs=[pb.Need(code="rehabilitation", description="康复训练")])
    updated = tree.admin.UpdatePerson(pb.UpdatePersonRequest(
        person=change, update_mask=FieldMask(paths=["phone", "needs"]), expected_version=1))
    assert updated.version == 2 and updated.phone == "13800002222"
    assert [n.code for n in updated.needs] == ["rehabilitation"]
    assert updated.name == p.name  # not in the mask: untouched

    stale = rpc_error(tree.admin.UpdatePerson, pb.UpdatePersonRequest(
        person=change, update_mask=FieldMask(paths=["phone"]), expected_version=1))
    assert stale.code() == grpc.StatusCode.FAILED_PRECONDITION
    unknown = rpc_error(tree.admin.UpdatePerson, pb.UpdatePersonRequest(
        person=change, update_mask=FieldMask(paths=["resident_id"]), expected_version=2))
    assert unknown.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "update_mask" in violations(unknown)
    invalid = rpc_error(tree.admin.UpdatePerson, pb.UpdatePersonRequest(
        person=pb.Person(person_id=p.person_id, grade=7), update_mask=FieldMask(paths=["grade"]),
        expected_version=2))
    assert invalid.code() == grpc.StatusCode.INVALID_ARGUMENT
    again = tree.admin.GetPerson(pb.GetPersonRequest(person_id=p.person_id))
    assert again.version == 2 and again.grade == p.grade


def test_grade_change_reissues_certificate(tree: Tree) -> None:
    p = tree.register(category=common.DISABILITY_CATEGORY_HEARING, grade=4)
    updated = tree.admin.UpdatePerson(pb.UpdatePersonRequest(
        person=pb.Person(person_id=p.person_id, grade=2), update_mask=FieldMask(paths=["grade"]),
        expected_version=p.version))
    assert updated.certificate_number == p.resident_id + "22"


def test_archive_keeps_the_record_and_freezes_it(tree: Tree) -> None:
    p = tree.register()
    archived = tree.admin.ArchivePerson(pb.ArchivePersonRequest(
        person_id=p.person_id, reason=ev.ARCHIVE_REASON_DECEASED, expected_version=1))
    assert archived.status == pb.PERSON_STATUS_ARCHIVED
    assert archived.archive_reason == ev.ARCHIVE_REASON_DECEASED
    again = rpc_error(tree.admin.ArchivePerson, pb.ArchivePersonRequest(
        person_id=p.person_id, reason=ev.ARCHIVE_REASON_MOVED_OUT, expected_version=2))
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION
    frozen = rpc_error(tree.admin.UpdatePerson, pb.UpdatePersonRequest(
        person=pb.Person(person_id=p.person_id, phone="13800002222"),
        update_mask=FieldMask(paths=["phone"]), expected_version=2))
    assert frozen.code() == grpc.StatusCode.FAILED_PRECONDITION
    no_reason = rpc_error(tree.admin.ArchivePerson, pb.ArchivePersonRequest(
        person_id=tree.register().person_id, expected_version=1))
    assert no_reason.code() == grpc.StatusCode.INVALID_ARGUMENT
    listed = tree.admin.ListPersons(pb.ListPersonsRequest(jurisdiction_path=tree.city_path))
    assert p.person_id not in {x.person_id for x in listed.persons}
    with_archived = tree.admin.ListPersons(pb.ListPersonsRequest(
        jurisdiction_path=tree.city_path, include_archived=True))
    assert p.person_id in {x.person_id for x in with_archived.persons}


def test_not_found_and_malformed_ids(tree: Tree) -> None:
    missing = rpc_error(tree.admin.GetPerson, pb.GetPersonRequest(
        person_id="00000000-0000-4000-8000-000000000000"))
    assert missing.code() == grpc.StatusCode.NOT_FOUND
    malformed = rpc_error(tree.admin.GetPerson, pb.GetPersonRequest(person_id="nope"))
    assert malformed.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "person_id" in violations(malformed)
    no_household = rpc_error(lambda: tree.admin.RegisterPerson(pb.RegisterPersonRequest(
        person=person("00000000-0000-4000-8000-000000000001"))))
    assert no_household.code() == grpc.StatusCode.NOT_FOUND


def test_household_update_reaches_its_members(tree: Tree) -> None:
    household = tree.household(income_fen=100_000)
    p = tree.register(household)
    updated = tree.admin.UpdateHousehold(pb.UpdateHouseholdRequest(
        household=pb.Household(household_id=household.household_id, monthly_income_fen=80_000),
        update_mask=FieldMask(paths=["monthly_income_fen"]), expected_version=1))
    assert updated.version == 2 and list(updated.member_ids) == [p.person_id]
    assert tree.admin.GetPerson(pb.GetPersonRequest(
        person_id=p.person_id)).household_monthly_income_fen == 80_000
    negative = rpc_error(tree.admin.UpdateHousehold, pb.UpdateHouseholdRequest(
        household=pb.Household(household_id=household.household_id, monthly_income_fen=-1),
        update_mask=FieldMask(paths=["monthly_income_fen"]), expected_version=2))
    assert negative.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "monthly_income_fen" in violations(negative)
    stale = rpc_error(tree.admin.UpdateHousehold, pb.UpdateHouseholdRequest(
        household=pb.Household(household_id=household.household_id, address="新地址"),
        update_mask=FieldMask(paths=["address"]), expected_version=1))
    assert stale.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_jurisdiction_tree_rules(tree: Tree) -> None:
    got = tree.admin.GetJurisdiction(pb.GetJurisdictionRequest(code=tree.grids[0]))
    assert got.path == tree.grid_paths[0] and got.level == pb.JURISDICTION_LEVEL_GRID
    children = tree.admin.ListJurisdictions(pb.ListJurisdictionsRequest(
        parent_code=tree.community))
    assert [j.code for j in children.jurisdictions] == tree.grids
    dup = rpc_error(tree.admin.CreateJurisdiction, pb.CreateJurisdictionRequest(
        code=tree.grids[0], name="x", level=pb.JURISDICTION_LEVEL_GRID,
        parent_code=tree.community))
    assert dup.code() == grpc.StatusCode.ALREADY_EXISTS
    wrong_level = rpc_error(tree.admin.CreateJurisdiction, pb.CreateJurisdictionRequest(
        code=tree.city + "-x", name="x", level=pb.JURISDICTION_LEVEL_STREET,
        parent_code=tree.community))
    assert wrong_level.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "level" in violations(wrong_level)
    worker = tree.worker(0, role="grid_worker")
    not_admin = rpc_error(worker.CreateJurisdiction, pb.CreateJurisdictionRequest(
        code=tree.city + "-y", name="y", level=pb.JURISDICTION_LEVEL_GRID,
        parent_code=tree.community))
    assert not_admin.code() == grpc.StatusCode.PERMISSION_DENIED


# ------------------------------------------------------------------ children turning 3


async def test_an_uncertified_child_who_turned_three_can_still_be_changed(
        tree: Tree, registry_db: psycopg.Connection, stack: devstack.Stack) -> None:
    """The under-3 rule applies when a person becomes uncertified, not to every later update:
    a child registered uncertified who has turned 3 is updated as usual (by a worker, and by
    the visit-needs consumer), and can be certified; an adult cannot be made uncertified."""
    child = baby(tree)
    age_record(registry_db, child.person_id, years_ago(3, days=10))
    updated = tree.worker(0).UpdatePerson(pb.UpdatePersonRequest(
        person=pb.Person(person_id=child.person_id, needs=[pb.Need(code="rehabilitation")]),
        update_mask=FieldMask(paths=["needs"]), expected_version=1))
    assert updated.version == 2 and not updated.certified

    db = Database(stack.database_url("registry"), "registry", 1, 2)
    await db.open()
    try:
        registry = Registry(db, DEFAULT_PRIORITY_GROUPS, ZoneInfo("Asia/Shanghai"))
        async with db.unit_of_work(SYSTEM) as uow:
            added = await add_visit_needs(registry, uow, child.person_id, ["home_care"], "v-1")
    finally:
        await db.close()
    assert added == ["home_care"]

    certified = tree.worker(0).UpdatePerson(pb.UpdatePersonRequest(
        person=pb.Person(person_id=child.person_id, certified=True, grade=2),
        update_mask=FieldMask(paths=["certified", "grade"]), expected_version=3))
    assert certified.certified and certified.certificate_number.endswith("42")
    adult = tree.register()
    exc = rpc_error(tree.admin.UpdatePerson, pb.UpdatePersonRequest(
        person=pb.Person(person_id=adult.person_id, certified=False),
        update_mask=FieldMask(paths=["certified", "certificate_number", "grade"]),
        expected_version=1))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(exc) == {"certified": "only children under 3 may be registered without "
                                            "a certificate"}
    assert tree.admin.GetPerson(pb.GetPersonRequest(person_id=adult.person_id)).version == 1


# ------------------------------------------------------------------ reactivation


def _moved_out(tree: Tree, **fields: Any) -> pb.Person:
    p = tree.register(**fields)
    return tree.admin.ArchivePerson(pb.ArchivePersonRequest(
        person_id=p.person_id, reason=ev.ARCHIVE_REASON_MOVED_OUT, expected_version=p.version))


def test_a_resident_who_moved_out_comes_back_to_another_grid(
        tree: Tree, stack: devstack.Stack, registry_db: psycopg.Connection) -> None:
    gw0, gw1 = tree.worker(0), tree.worker(1)
    first = tree.register()
    gw0.AddServiceRecord(pb.AddServiceRecordRequest(person_id=first.person_id, record=pb.
                                                    ServiceRecord(kind="rehabilitation")))
    verified = gw0.RecordVerification(pb.RecordVerificationRequest(person_id=first.person_id))
    archived = gw0.ArchivePerson(pb.ArchivePersonRequest(
        person_id=first.person_id, reason=ev.ARCHIVE_REASON_MOVED_OUT, expected_version=2))

    # Registering the resident ID again where the record is seen names it to reactivate...
    community = stub(tree.addr, token("community_worker", [tree.community_path]))
    seen = rpc_error(community.RegisterPerson, pb.RegisterPersonRequest(
        person=person(tree.household(1).household_id, resident_id=first.resident_id)))
    assert seen.code() == grpc.StatusCode.ALREADY_EXISTS
    assert first.person_id in seen.details() and "archived as moved out" in seen.details()
    assert "can be reactivated" in seen.details()
    assert first.resident_id not in seen.details()
    assert mask_resident_id(first.resident_id) in seen.details()
    # ...but a grid that does not cover it learns only that it awaits review
    # (tests/integration/test_registration_reviews.py).
    again = rpc_error(gw1.RegisterPerson, pb.RegisterPersonRequest(person=person(
        tree.household(1).household_id, resident_id=first.resident_id)))
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert first.person_id not in again.details() and "moved" not in again.details()
    assert rpc_error(gw1.GetPerson, pb.GetPersonRequest(
        person_id=first.person_id)).code() == grpc.StatusCode.PERMISSION_DENIED

    home = tree.household(1, income_fen=180_000)
    back = gw1.ReactivatePerson(pb.ReactivatePersonRequest(
        person_id=first.person_id, household_id=home.household_id,
        expected_version=archived.version))
    assert (back.status, back.archive_reason, back.version) == (
        pb.PERSON_STATUS_ACTIVE, ev.ARCHIVE_REASON_UNSPECIFIED, archived.version + 1)
    assert (back.household_id, back.jurisdiction_path, back.grid_code) == (
        home.household_id, tree.grid_paths[1], tree.grids[1])
    assert back.household_monthly_income_fen == 180_000
    assert back.last_verified_at == verified.last_verified_at      # the history is kept
    assert [r.kind for r in back.service_history] == [
        "reactivated", "verification", "rehabilitation"]               # and visible to the new grid
    assert (back.name, back.resident_id, back.needs) == (first.name, first.resident_id,
                                                          first.needs)
    assert rpc_error(gw0.GetPerson, pb.GetPersonRequest(
        person_id=first.person_id)).code() == grpc.StatusCode.PERMISSION_DENIED
    listed = gw1.ListPersons(pb.ListPersonsRequest())
    assert first.person_id in {p.person_id for p in listed.persons}
    assert gw1.GetHousehold(pb.GetHouseholdRequest(
        household_id=home.household_id)).member_ids == [first.person_id]
    with registry_db.transaction():
        registry_db.execute("SELECT set_config('cdsp.scope', '/%', true)")
        row = registry_db.execute(
            "SELECT archived_at, (SELECT array_agg(DISTINCT jurisdiction_path) FROM "
            "service_records WHERE person_id = %s) FROM persons WHERE person_id = %s",
            [first.person_id, first.person_id]).fetchone()
    assert row == (None, [tree.grid_paths[1]])

    reader = TopicReader(stack.kafka_bootstrap, "cdsp.registry.v1")
    try:
        found = reader.wait_for(lambda envs: any(
            e.event_type == "cdsp.events.v1.PersonReactivated" for e in envs),
            key=first.person_id)
    finally:
        reader.close()
    event = found[-1]
    assert (event.aggregate_version, event.jurisdiction_path) == (back.version,
                                                                 tree.grid_paths[1])
    payload = unpack_payload(event)
    assert isinstance(payload, ev.PersonReactivated)
    assert not payload.person.archived and payload.person.household_id == home.household_id
    assert payload.person.household_monthly_income_fen == 180_000
    assert payload.person.jurisdiction_path == tree.grid_paths[1]


def test_reactivation_refusals_change_nothing(tree: Tree,
                                             registry_db: psycopg.Connection) -> None:
    moved = _moved_out(tree)
    home = tree.household(0)

    def refused(request: pb.ReactivatePersonRequest, stub: Any = None) -> grpc.RpcError:
        return rpc_error((stub or tree.admin).ReactivatePerson, request)

    malformed = refused(pb.ReactivatePersonRequest(person_id="nope", household_id="nope"))
    assert malformed.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(malformed)) == {"person_id", "household_id"}
    outside = refused(pb.ReactivatePersonRequest(
        person_id=moved.person_id, household_id=tree.household(1).household_id,
        expected_version=moved.version), tree.worker(0))
    assert outside.code() == grpc.StatusCode.PERMISSION_DENIED
    nowhere = refused(pb.ReactivatePersonRequest(
        person_id=moved.person_id, household_id=str(uuid.uuid4()),
        expected_version=moved.version))
    assert nowhere.code() == grpc.StatusCode.NOT_FOUND
    nobody = refused(pb.ReactivatePersonRequest(
        person_id=str(uuid.uuid4()), household_id=home.household_id, expected_version=1))
    assert nobody.code() == grpc.StatusCode.NOT_FOUND
    stale = refused(pb.ReactivatePersonRequest(
        person_id=moved.person_id, household_id=home.household_id, expected_version=1))
    assert stale.code() == grpc.StatusCode.FAILED_PRECONDITION and "stale" in stale.details()
    doctor = stub(tree.addr, token("family_doctor", [tree.city_path]))
    assert refused(pb.ReactivatePersonRequest(
        person_id=moved.person_id, household_id=home.household_id,
        expected_version=moved.version), doctor).code() == grpc.StatusCode.PERMISSION_DENIED
    active = tree.register()
    not_archived = refused(pb.ReactivatePersonRequest(
        person_id=active.person_id, household_id=home.household_id, expected_version=1))
    assert not_archived.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "active" in not_archived.details()
    deceased = tree.admin.ArchivePerson(pb.ArchivePersonRequest(
        person_id=tree.register().person_id, reason=ev.ARCHIVE_REASON_DECEASED,
        expected_version=1))
    dead = refused(pb.ReactivatePersonRequest(
        person_id=deceased.person_id, household_id=home.household_id, expected_version=2))
    assert dead.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert dead.details() == "a deceased person's record cannot be reactivated"
    again = rpc_error(tree.admin.RegisterPerson, pb.RegisterPersonRequest(person=person(
        home.household_id, resident_id=deceased.resident_id)))
    assert again.code() == grpc.StatusCode.ALREADY_EXISTS and "deceased" in again.details()
    assert deceased.resident_id not in again.details()

    # A record that no longer passes today's rules (here a phone number gone bad in storage)
    # names the field, and stays archived.
    broken = _moved_out(tree)
    with registry_db.transaction():
        registry_db.execute("SELECT set_config('cdsp.scope', '/%', true)")
        registry_db.execute("UPDATE persons SET phone = '12345' WHERE person_id = %s",
                            [broken.person_id])
    invalid = refused(pb.ReactivatePersonRequest(
        person_id=broken.person_id, household_id=home.household_id,
        expected_version=broken.version))
    assert invalid.code() == grpc.StatusCode.INVALID_ARGUMENT and "phone" in violations(invalid)

    for record in (moved, deceased):
        unchanged = tree.admin.GetPerson(pb.GetPersonRequest(person_id=record.person_id))
        assert unchanged == record
    still = tree.admin.GetPerson(pb.GetPersonRequest(person_id=broken.person_id))
    assert (still.status, still.version) == (pb.PERSON_STATUS_ARCHIVED, broken.version)
    assert tree.admin.GetPerson(pb.GetPersonRequest(person_id=active.person_id)) == active


def test_a_returning_uncertified_child_now_three_is_reactivated_and_due_a_certificate(
        tree: Tree, registry_db: psycopg.Connection) -> None:
    child = baby(tree)
    archived = tree.admin.ArchivePerson(pb.ArchivePersonRequest(
        person_id=child.person_id, reason=ev.ARCHIVE_REASON_MOVED_OUT, expected_version=1))
    age_record(registry_db, child.person_id, years_ago(3, days=40))
    back = tree.worker(1).ReactivatePerson(pb.ReactivatePersonRequest(
        person_id=child.person_id, household_id=tree.household(1).household_id,
        expected_version=archived.version))
    assert back.status == pb.PERSON_STATUS_ACTIVE and not back.certified
    due = tree.worker(1).ListCertificationDue(pb.ListCertificationDueRequest())
    assert [p.person_id for p in due.persons] == [child.person_id]
