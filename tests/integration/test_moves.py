"""A person who moves is not stranded. A household that moves to another grid (UpdateHousehold
grid_code), or a person who moves to a household of another grid (UpdatePerson household_id),
takes their file along: the registry re-files the members and their history and announces each
(PersonUpdated with the new path), and every service re-homes the rows it copied the old path
into, so the new grid sees and ends them. Before: the rows kept the old path and the new grid
could not see them (PERMISSION_DENIED)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import grpc
import psycopg
from google.protobuf.field_mask_pb2 import FieldMask

import devstack
from cdsp.aid.v1 import aid_pb2 as apb
from cdsp.common.v1 import common_pb2 as common
from cdsp.employment.v1 import employment_pb2 as epb
from cdsp.events.v1 import aid_pb2 as aev
from cdsp.events.v1 import registry_pb2 as ev
from cdsp.events.v1 import volunteer_pb2 as vev
from cdsp.notification.v1 import notification_pb2 as npb
from cdsp.registry.v1 import registry_pb2 as pb
from cdsp.volunteer.v1 import volunteer_pb2 as vpb
from runtime.events import unpack_payload
from tests.aid_helpers import aid_stub
from tests.employment_helpers import employment_stub, scores
from tests.events import TopicReader
from tests.helpers import Tree, rpc_error, token, violations
from tests.notification_helpers import AidEvents, ServiceDb, notify_stub, wait_until
from tests.volunteer_helpers import new_volunteer, volunteer_stub

DENIED = grpc.StatusCode.PERMISSION_DENIED


def _move_household(tree: Tree, household: pb.Household, grid: int) -> pb.Household:
    return tree.admin.UpdateHousehold(pb.UpdateHouseholdRequest(
        household=pb.Household(household_id=household.household_id,
                               grid_code=tree.grids[grid]),
        update_mask=FieldMask(paths=["grid_code"]), expected_version=household.version))


def _move_person(tree: Tree, person: pb.Person, grid: int) -> pb.Person:
    there = tree.household(grid)
    return tree.admin.UpdatePerson(pb.UpdatePersonRequest(
        person=pb.Person(person_id=person.person_id, household_id=there.household_id),
        update_mask=FieldMask(paths=["household_id"]), expected_version=person.version))


def _filed(stack: devstack.Stack, service: str, table: str, person_id: str) -> str | None:
    rows = ServiceDb(stack.database_url(service)).rows(
        f"SELECT jurisdiction_path FROM {table} WHERE person_id = %s", [person_id])
    return str(rows[0][0]) if rows else None


def _wait_filed(stack: devstack.Stack, service: str, table: str, person_id: str,
                path: str) -> None:
    wait_until(lambda: _filed(stack, service, table, person_id) == path,
               f"{service} filed the person under {path}")


def _ts(moment: datetime) -> Any:
    from google.protobuf.timestamp_pb2 import Timestamp
    ts = Timestamp()
    ts.FromDatetime(moment)
    return ts


def test_the_registry_moves_a_household_its_members_and_their_history(
        tree: Tree, stack: devstack.Stack) -> None:
    household = tree.household(0)
    first, second = tree.register(household), tree.register(household)
    tree.admin.AddServiceRecord(pb.AddServiceRecordRequest(
        person_id=first.person_id, record=pb.ServiceRecord(kind="rehabilitation",
                                                           description="康复训练")))
    old_worker, new_worker = tree.worker(0), tree.worker(1)
    # Refused: not a grid; a grid outside the caller's jurisdictions; a grid worker who does
    # not cover the new grid.
    bad = rpc_error(tree.admin.UpdateHousehold, pb.UpdateHouseholdRequest(
        household=pb.Household(household_id=household.household_id, grid_code=tree.community),
        update_mask=FieldMask(paths=["grid_code"]), expected_version=1))
    assert violations(bad) == {"household.grid_code": "must be an existing grid"}
    assert rpc_error(old_worker.UpdateHousehold, pb.UpdateHouseholdRequest(
        household=pb.Household(household_id=household.household_id, grid_code=tree.grids[1]),
        update_mask=FieldMask(paths=["grid_code"]), expected_version=1)).code() == DENIED
    assert old_worker.GetPerson(pb.GetPersonRequest(person_id=first.person_id)).name

    moved = _move_household(tree, household, 1)
    assert (moved.grid_code, moved.jurisdiction_path, moved.version) == (
        tree.grids[1], tree.grid_paths[1], 2)
    found = new_worker.GetPerson(pb.GetPersonRequest(person_id=first.person_id))
    assert found.jurisdiction_path == tree.grid_paths[1] and found.version == 2
    assert [r.kind for r in found.service_history] == ["rehabilitation"]  # history follows
    assert rpc_error(old_worker.GetPerson, pb.GetPersonRequest(
        person_id=second.person_id)).code() == DENIED
    reader = TopicReader(stack.kafka_bootstrap, "cdsp.registry.v1")
    try:
        for person in (first, second):
            envelopes = reader.wait_for(lambda found: len(found) >= 2, key=person.person_id)
            update = unpack_payload(envelopes[-1])
            assert isinstance(update, ev.PersonUpdated)
            assert (envelopes[-1].aggregate_version, update.person.jurisdiction_path,
                    list(update.changed_fields)) == (2, tree.grid_paths[1],
                                                     ["jurisdiction_path"])
    finally:
        reader.close()
    # A person who moves to another grid's household takes their history too.
    alone = tree.register(tree.household(0))
    tree.admin.AddServiceRecord(pb.AddServiceRecordRequest(
        person_id=alone.person_id, record=pb.ServiceRecord(kind="visit")))
    _move_person(tree, alone, 1)
    assert [r.kind for r in new_worker.GetPerson(pb.GetPersonRequest(
        person_id=alone.person_id)).service_history] == ["visit"]


def test_aid_rehomes_open_work_and_keeps_what_accounts_for_the_grid(
        tree: Tree, stack: devstack.Stack, aid: str) -> None:
    household = tree.household(0, income_fen=100_000)
    person = tree.register(household, priority_groups=["seriously_ill"])
    admin = aid_stub(aid, token("city_admin", [tree.city_path]))
    old_worker = aid_stub(aid, token("grid_worker", [tree.grid_paths[0]]))
    new_worker = aid_stub(aid, token("grid_worker", [tree.grid_paths[1]]))
    _wait_filed(stack, "aid", "persons", person.person_id, tree.grid_paths[0])
    case = admin.ReportHardship(apb.ReportHardshipRequest(
        household_id=household.household_id, kind=apb.HARDSHIP_KIND_ACCIDENT)).case
    done = admin.SubmitRequest(apb.SubmitRequestRequest(person_id=person.person_id,
                                                        description="轮椅坏了"))
    for step in (lambda: admin.DispatchRequest(apb.DispatchRequestRequest(
                     request_id=done.request_id, team="一组")),
                 lambda: admin.RecordArrival(apb.RecordArrivalRequest(
                     request_id=done.request_id)),
                 lambda: admin.ResolveRequest(apb.ResolveRequestRequest(
                     request_id=done.request_id, result="已修好"))):
        step()
    open_request = admin.SubmitRequest(apb.SubmitRequestRequest(person_id=person.person_id,
                                                                description="需要陪诊"))
    old_worker.ReplenishKit(apb.ReplenishKitRequest(grid_code=tree.grids[0], item="wheelchair",
                                                    quantity=3, lendable=True))
    loans = [old_worker.LendKit(apb.LendKitRequest(grid_code=tree.grids[0], item="wheelchair",
                                                   person_id=person.person_id))
             for _ in range(2)]
    admin.RecordSickbedVisit(apb.RecordSickbedVisitRequest(person_id=person.person_id))
    assert rpc_error(new_worker.GetRequest, apb.GetRequestRequest(
        request_id=open_request.request_id)).code() == DENIED

    _move_household(tree, household, 1)
    _wait_filed(stack, "aid", "persons", person.person_id, tree.grid_paths[1])
    assert new_worker.GetRequest(apb.GetRequestRequest(
        request_id=open_request.request_id)).jurisdiction_path == tree.grid_paths[1]
    moved_case = new_worker.GetCase(apb.GetCaseRequest(case_id=case.case_id))
    assert moved_case.jurisdiction_path == tree.grid_paths[1]
    assert [a.action for a in moved_case.actions] == ["charity_relief"]  # its actions follow
    # The resolved request is the old grid team's 30-minute record: it stays theirs.
    assert old_worker.GetRequest(apb.GetRequestRequest(
        request_id=done.request_id)).jurisdiction_path == tree.grid_paths[0]
    assert rpc_error(old_worker.GetRequest, apb.GetRequestRequest(
        request_id=open_request.request_id)).code() == DENIED
    # The wheelchairs belong to the old grid's stock; either grid may take one back.
    new_worker.ReturnKit(apb.ReturnKitRequest(loan_id=loans[0].loan_id))
    old_worker.ReturnKit(apb.ReturnKitRequest(loan_id=loans[1].loan_id))
    stock = old_worker.ListKitStock(apb.ListKitStockRequest(grid_code=tree.grids[0])).stock
    assert [(s.item, s.available, s.total) for s in stock] == [("wheelchair", 3, 3)]
    assert ServiceDb(stack.database_url("aid")).rows(
        "SELECT jurisdiction_path FROM sickbed_schedules WHERE person_id = %s",
        [person.person_id]) == [(tree.grid_paths[1],)]


def test_employment_rehomes_the_plan_and_what_is_still_open(
        tree: Tree, stack: devstack.Stack, employment: str) -> None:
    person = tree.register(tree.household(0), needs=[pb.Need(code="employment")])
    admin = employment_stub(employment, token("city_admin", [tree.city_path]))
    # Placements are the community worker's: one who covers the new grid only.
    new_worker = employment_stub(employment, token("community_worker", [tree.grid_paths[1]]))
    _wait_filed(stack, "employment", "candidates", person.person_id, tree.grid_paths[0])
    admin.RecordAssessment(epb.RecordAssessmentRequest(person_id=person.person_id,
                                                       scores=scores()))
    now = datetime.now(UTC)
    course = admin.CreateCourse(epb.CreateCourseRequest(
        title="电商直播", jurisdiction_path=tree.community_path, capacity=5, class_hours=20,
        starts_at=_ts(now - timedelta(days=2)), ends_at=_ts(now + timedelta(days=30)),
        schedule="周二 14:00"))
    admin.Enrol(epb.EnrolRequest(course_id=course.course_id, person_id=person.person_id))
    post_id = str(uuid.uuid4())
    with psycopg.connect(stack.database_url("employment"), autocommit=True) as conn, \
            conn.transaction():
        conn.execute("SELECT set_config('cdsp.scope', '/%', true)")
        conn.execute("INSERT INTO posts (post_id, kind, title, jurisdiction_path, openings, "
                     "full_time, open, created_by) VALUES (%s, 1, '岗位', %s, 2, true, true, "
                     "'test')", [post_id, tree.community_path])
    today = date.today()
    placement = admin.Place(epb.PlaceRequest(person_id=person.person_id, post_id=post_id,
                                             start_date=common.Date(year=today.year,
                                                                    month=today.month,
                                                                    day=today.day)))
    assert rpc_error(new_worker.GetPlan, epb.GetPlanRequest(
        person_id=person.person_id)).code() == DENIED

    _move_person(tree, person, 1)
    _wait_filed(stack, "employment", "candidates", person.person_id, tree.grid_paths[1])
    assert new_worker.GetPlan(epb.GetPlanRequest(person_id=person.person_id)).track
    enrolled = new_worker.ListEnrolments(epb.ListEnrolmentsRequest(course_id=course.course_id))
    assert [e.person_id for e in enrolled.enrolments] == [person.person_id]
    ended = new_worker.EndPlacement(epb.EndPlacementRequest(
        placement_id=placement.placement_id, reason="搬家"))
    assert ended.end_reason == "搬家"


def test_volunteer_rehomes_the_pairing_and_the_visit_log(
        tree: Tree, stack: devstack.Stack, volunteer: str) -> None:
    person = tree.register(tree.household(0), living_situation=pb.LIVING_SITUATION_ALONE)
    admin = volunteer_stub(volunteer, token("city_admin", [tree.city_path]))
    new_worker = volunteer_stub(volunteer, token("grid_worker", [tree.grid_paths[1]]))
    _wait_filed(stack, "volunteer", "persons", person.person_id, tree.grid_paths[0])
    vid = admin.RegisterVolunteer(new_volunteer(tree, 0)).volunteer_id
    admin.VerifyVolunteer(vpb.VerifyVolunteerRequest(volunteer_id=vid))
    pairing = admin.Pair(vpb.PairRequest(person_id=person.person_id, volunteer_id=vid,
                                         role=vev.PAIRING_ROLE_VOLUNTEER))
    admin.LogVisit(vpb.LogVisitRequest(person_id=person.person_id, volunteer_id=vid,
                                       duration_minutes=30))
    assert rpc_error(new_worker.ListPairings, vpb.ListPairingsRequest(
        person_id=person.person_id)).code() == DENIED

    _move_person(tree, person, 1)
    _wait_filed(stack, "volunteer", "persons", person.person_id, tree.grid_paths[1])
    listed = new_worker.ListPairings(vpb.ListPairingsRequest(person_id=person.person_id))
    assert [p.pairing_id for p in listed.pairings] == [pairing.pairing_id]
    assert ServiceDb(stack.database_url("volunteer")).rows(
        "SELECT jurisdiction_path FROM visits WHERE person_id = %s",
        [person.person_id]) == [(tree.grid_paths[1],)]
    ended = new_worker.EndPairing(vpb.EndPairingRequest(pairing_id=pairing.pairing_id,
                                                        reason="搬到二网格"))
    assert ended.end_reason == "搬到二网格"


def test_notification_rehomes_the_residents_notices(
        tree: Tree, stack: devstack.Stack, notification: str, aid_events: AidEvents) -> None:
    person = tree.register(tree.household(0))
    db = ServiceDb(stack.database_url("notification"))
    db.wait_recipients([person.person_id])
    event_id = aid_events.publish(aev.RequestDispatched(
        request_id=str(uuid.uuid4()), team="一组", person_id=person.person_id,
        arrival_due_at=_ts(datetime.now(UTC) + timedelta(minutes=30))),
        tree.grid_paths[0], str(uuid.uuid4()))
    wait_until(lambda: db.notices(event_id), "the resident's notice")
    new_worker = notify_stub(notification, token("grid_worker", [tree.grid_paths[1]]))
    old_worker = notify_stub(notification, token("grid_worker", [tree.grid_paths[0]]))

    def listed(api: Any) -> list[str]:
        return [n.recipient_id for n in api.ListNotices(npb.ListNoticesRequest(
            source_event_id=event_id)).notices]

    assert listed(old_worker) == [person.person_id] and listed(new_worker) == []
    _move_person(tree, person, 1)
    _wait_filed(stack, "notification", "recipients", person.person_id, tree.grid_paths[1])
    wait_until(lambda: listed(new_worker) == [person.person_id], "the notice follows")
    assert listed(old_worker) == []
