"""Employment training courses: seats then the waiting list, never over capacity under
concurrent enrolments, withdrawal handing the seat to the first waiting, attendance and
completion with their events, and the refusals."""

from __future__ import annotations

import os
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import grpc
import psycopg
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

import devstack
from cdsp.common.v1 import common_pb2 as common
from cdsp.employment.v1 import employment_pb2 as pb
from cdsp.employment.v1 import employment_pb2_grpc
from cdsp.events.v1 import employment_pb2 as ev
from runtime.events import unpack_payload
from tests.employment_helpers import (
    employment_admin,
    employment_stub,
    register_job_seeker,
    wait_candidates,
)
from tests.events import TopicReader
from tests.helpers import Tree, resident_id, rpc_error, token, violations, years_ago
from tests.notification_helpers import ServiceDb

Stub = employment_pb2_grpc.EmploymentServiceStub
INVALID = grpc.StatusCode.INVALID_ARGUMENT
PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
DENIED = grpc.StatusCode.PERMISSION_DENIED
ENROLLED, WAITLISTED = pb.ENROLMENT_STATUS_ENROLLED, pb.ENROLMENT_STATUS_WAITLISTED
WITHDRAWN, COMPLETED = pb.ENROLMENT_STATUS_WITHDRAWN, pb.ENROLMENT_STATUS_COMPLETED
LOCAL_TZ = ZoneInfo(os.environ.get("CDSP_LOCAL_TZ", "Asia/Shanghai"))


def ts(value: datetime) -> Timestamp:
    found = Timestamp()
    found.FromDatetime(value)
    return found


def course_request(path: str, capacity: int = 10, class_hours: int = 20,
                   **given: object) -> pb.CreateCourseRequest:
    """A course that started two days ago and runs for a month."""
    now = datetime.now(UTC)
    values: dict[str, object] = {
        "title": "电商直播", "jurisdiction_path": path, "capacity": capacity,
        "class_hours": class_hours, "starts_at": ts(now - timedelta(days=2)),
        "ends_at": ts(now + timedelta(days=30)), "schedule": "周二、周四 14:00-16:00",
        "track": ev.EMPLOYMENT_TRACK_NEW_ECONOMY}
    values.update(given)
    return pb.CreateCourseRequest(**values)  # type: ignore[arg-type]


def seekers(tree: Tree, stack: devstack.Stack, n: int, grid: int = 0) -> list[str]:
    ids = [register_job_seeker(tree, grid).person_id for _ in range(n)]
    wait_candidates(stack.database_url("employment"), ids)
    return ids


def enrol(api: Stub, course_id: str, person_id: str, waitlist: bool = True) -> pb.Enrolment:
    return api.Enrol(pb.EnrolRequest(course_id=course_id, person_id=person_id,
                                     allow_waitlist=waitlist))


def db_counts(stack: devstack.Stack, course_id: str) -> tuple[int, int, int, int, list[int]]:
    """(seats_taken, waiting, enrolled rows, waitlisted rows, positions) as stored."""
    db = ServiceDb(stack.database_url("employment"))
    seats, waiting = db.rows("SELECT seats_taken, waiting FROM courses WHERE course_id = %s",
                             [course_id])[0]
    by_status = dict(db.rows("SELECT status, count(*) FROM enrolments WHERE course_id = %s "
                             "GROUP BY status", [course_id]))
    positions = [r[0] for r in db.rows(
        "SELECT waitlist_position FROM enrolments WHERE course_id = %s AND status = 2 "
        "ORDER BY waitlist_position", [course_id])]
    return seats, waiting, by_status.get(1, 0), by_status.get(2, 0), positions


def test_a_course_is_created_and_read_back_and_seen_from_below(
        tree: Tree, employment: str) -> None:
    api = employment_admin(tree, employment)
    made = api.CreateCourse(course_request(tree.community_path, capacity=12))
    assert uuid.UUID(made.course_id)
    assert (made.title, made.capacity, made.class_hours, made.seats_taken, made.waiting) == (
        "电商直播", 12, 20, 0, 0)
    assert made.track == ev.EMPLOYMENT_TRACK_NEW_ECONOMY and made.schedule.startswith("周二")
    assert api.GetCourse(pb.GetCourseRequest(course_id=made.course_id)) == made
    # a grid worker sees the community's course (it is for the grid's residents) ...
    worker = employment_stub(employment, token("grid_worker", [tree.grid_paths[0]]))
    assert worker.GetCourse(pb.GetCourseRequest(course_id=made.course_id)) == made
    # ... but may not create courses, and nobody creates one outside their jurisdictions
    assert rpc_error(worker.CreateCourse, course_request(tree.grid_paths[0])
                     ).code() == DENIED
    community = employment_stub(employment, token("community_worker", [tree.grid_paths[0]]))
    assert rpc_error(community.CreateCourse, course_request(tree.community_path)
                     ).code() == DENIED
    assert community.CreateCourse(course_request(tree.grid_paths[0])).jurisdiction_path == (
        tree.grid_paths[0])
    elsewhere = employment_stub(employment, token("city_admin", ["/Z" + tree.city[1:] + "/"]))
    assert rpc_error(elsewhere.GetCourse, pb.GetCourseRequest(course_id=made.course_id)
                     ).code() == DENIED
    assert rpc_error(api.GetCourse, pb.GetCourseRequest(course_id=str(uuid.uuid4()))
                     ).code() == grpc.StatusCode.NOT_FOUND


def test_seats_then_the_waiting_list_then_a_refusal_naming_the_capacity(
        tree: Tree, employment: str, stack: devstack.Stack) -> None:
    people = seekers(tree, stack, 5)
    api = employment_admin(tree, employment)
    course = api.CreateCourse(course_request(tree.community_path, capacity=2))
    got = [enrol(api, course.course_id, p) for p in people[:4]]
    assert [(e.status, e.waitlist_position) for e in got] == [
        (ENROLLED, 0), (ENROLLED, 0), (WAITLISTED, 1), (WAITLISTED, 2)]
    full = rpc_error(enrol, api, course.course_id, people[4], False)
    assert full.code() == PRECONDITION and "all 2 seats (its capacity)" in full.details()
    again = api.GetCourse(pb.GetCourseRequest(course_id=course.course_id))
    assert (again.seats_taken, again.waiting) == (2, 2)
    for twice in (people[0], people[2]):
        exc = rpc_error(enrol, api, course.course_id, twice)
        assert exc.code() == grpc.StatusCode.ALREADY_EXISTS, twice
    listed = api.ListEnrolments(pb.ListEnrolmentsRequest(course_id=course.course_id))
    assert [e.person_id for e in listed.enrolments] == people[:4]
    assert list(listed.enrolments) == got
    assert db_counts(stack, course.course_id) == (2, 2, 2, 2, [1, 2])


def run_together(n: int, call: object) -> list[pb.Enrolment | grpc.RpcError]:
    """Runs call(i) for i in 0..n-1 on n threads released at once."""
    start = threading.Barrier(n)

    def one(i: int) -> pb.Enrolment | grpc.RpcError:
        start.wait()
        try:
            return call(i)  # type: ignore[operator,no-any-return]
        except grpc.RpcError as exc:
            return exc

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


@pytest.mark.slow
def test_concurrent_enrolments_never_exceed_the_capacity(
        tree: Tree, employment: str, stack: devstack.Stack) -> None:
    people = seekers(tree, stack, 30)
    api = employment_admin(tree, employment)
    queued = api.CreateCourse(course_request(tree.community_path, capacity=10))
    results = run_together(30, lambda i: enrol(api, queued.course_id, people[i], True))
    assert all(isinstance(r, pb.Enrolment) for r in results), results
    made = [r for r in results if isinstance(r, pb.Enrolment)]
    assert Counter(e.status for e in made) == {ENROLLED: 10, WAITLISTED: 20}
    assert sorted(e.waitlist_position for e in made if e.status == WAITLISTED) == list(
        range(1, 21))
    assert db_counts(stack, queued.course_id) == (10, 20, 10, 20, list(range(1, 21)))
    # the waiting list is in the order the persons enrolled
    listed = api.ListEnrolments(pb.ListEnrolmentsRequest(course_id=queued.course_id))
    waiting = [e for e in listed.enrolments if e.status == WAITLISTED]
    assert [e.waitlist_position for e in waiting] == list(range(1, 21))
    times = [(e.enrolled_at.seconds, e.enrolled_at.nanos) for e in waiting]
    assert times == sorted(times)

    strict = api.CreateCourse(course_request(tree.community_path, capacity=10))
    results = run_together(30, lambda i: enrol(api, strict.course_id, people[i], False))
    seated = [r for r in results if isinstance(r, pb.Enrolment)]
    refused = [r for r in results if isinstance(r, grpc.RpcError)]
    assert len(seated) == 10 and all(e.status == ENROLLED for e in seated)
    assert len(refused) == 20 and {r.code() for r in refused} == {PRECONDITION}
    assert all("capacity" in r.details() for r in refused)
    assert db_counts(stack, strict.course_id) == (10, 0, 10, 0, [])


def test_the_database_refuses_a_seat_over_capacity_whatever_the_code(
        tree: Tree, employment: str, stack: devstack.Stack) -> None:
    first, second = seekers(tree, stack, 2)
    api = employment_admin(tree, employment)
    course = api.CreateCourse(course_request(tree.community_path, capacity=1))
    enrol(api, course.course_id, first)
    db = ServiceDb(stack.database_url("employment"))
    with pytest.raises(psycopg.errors.CheckViolation):
        db.rows("INSERT INTO enrolments (enrolment_id, course_id, person_id, jurisdiction_path,"
                " status, seated_at, enrolled_by) VALUES (%s, %s, %s, %s, 1, now(), 'buggy') "
                "RETURNING 1", [str(uuid.uuid4()), course.course_id, second,
                                tree.grid_paths[0]])
    with pytest.raises(psycopg.errors.UniqueViolation):  # two persons at one position
        for person in (first, second):
            db.rows("INSERT INTO enrolments (enrolment_id, course_id, person_id, "
                    "jurisdiction_path, status, waitlist_position, enrolled_by) "
                    "VALUES (%s, %s, %s, %s, 2, 1, 'buggy') RETURNING 1",
                    [str(uuid.uuid4()), course.course_id, person, tree.grid_paths[0]])
    assert db_counts(stack, course.course_id) == (1, 0, 1, 0, [])


def enrolled_events(stack: devstack.Stack, enrolment_id: str, count: int) -> list[ev.Enrolled]:
    reader = TopicReader(stack.kafka_bootstrap, "cdsp.employment.v1")
    try:
        found = reader.wait_for(lambda envs: len([e for e in envs if e.event_type.endswith(
            ".Enrolled")]) >= count, key=enrolment_id)
    finally:
        reader.close()
    return [unpack_payload(e) for e in found  # type: ignore[misc]
            if e.event_type.endswith(".Enrolled")]


def test_withdrawing_gives_the_seat_to_the_first_waiting_wherever_they_live(
        tree: Tree, employment: str, stack: devstack.Stack) -> None:
    seated = seekers(tree, stack, 1, grid=0)[0]
    first, second, third = seekers(tree, stack, 3, grid=1)
    api = employment_admin(tree, employment)
    course = api.CreateCourse(course_request(tree.community_path, capacity=1))
    mine = enrol(api, course.course_id, seated)
    waiting = [enrol(api, course.course_id, p) for p in (first, second, third)]
    assert [w.waitlist_position for w in waiting] == [1, 2, 3]

    # the grid worker of grid 0 withdraws their resident: the first waiting (grid 1) is seated
    worker = employment_stub(employment, token("grid_worker", [tree.grid_paths[0]]))
    gone = worker.Withdraw(pb.WithdrawRequest(enrolment_id=mine.enrolment_id))
    assert gone.status == WITHDRAWN and gone.enrolment_id == mine.enrolment_id
    listed = api.ListEnrolments(pb.ListEnrolmentsRequest(course_id=course.course_id))
    assert [(e.person_id, e.status, e.waitlist_position) for e in listed.enrolments] == [
        (first, ENROLLED, 0), (second, WAITLISTED, 1), (third, WAITLISTED, 2),
        (seated, WITHDRAWN, 0)]
    assert db_counts(stack, course.course_id) == (1, 2, 1, 2, [1, 2])
    # the grid worker lists only their own residents
    own = worker.ListEnrolments(pb.ListEnrolmentsRequest(course_id=course.course_id))
    assert [e.person_id for e in own.enrolments] == [seated]

    # leaving the waiting list closes the gap
    api.Withdraw(pb.WithdrawRequest(enrolment_id=waiting[1].enrolment_id))
    assert db_counts(stack, course.course_id) == (1, 1, 1, 1, [1])
    assert rpc_error(api.Withdraw, pb.WithdrawRequest(enrolment_id=mine.enrolment_id)
                     ).code() == PRECONDITION
    # a withdrawn person may enrol again, at the end of the list
    back = enrol(api, course.course_id, seated)
    assert (back.status, back.waitlist_position) == (WAITLISTED, 2)

    events = enrolled_events(stack, waiting[0].enrolment_id, 2)
    assert [e.waitlisted for e in events] == [True, False]
    assert events[1].person_id == first and events[1].course_title == "电商直播"
    assert events[1].starts_at == course.starts_at


def attend(api: Stub, enrolment_id: str, hours: int, day: date) -> pb.Enrolment:
    return api.RecordAttendance(pb.RecordAttendanceRequest(
        enrolment_id=enrolment_id, hours=hours,
        session_date=common.Date(year=day.year, month=day.month, day=day.day)))


def test_attendance_and_completion(tree: Tree, employment: str, stack: devstack.Stack) -> None:
    person, queued = seekers(tree, stack, 2)
    api = employment_admin(tree, employment)
    course = api.CreateCourse(course_request(tree.community_path, capacity=1, class_hours=10))
    e = enrol(api, course.course_id, person)
    waiting = enrol(api, course.course_id, queued)
    today = datetime.now(LOCAL_TZ).date()
    yesterday = today - timedelta(days=1)

    assert attend(api, e.enrolment_id, 4, yesterday).hours_attended == 4
    again = rpc_error(attend, api, e.enrolment_id, 2, yesterday)
    assert again.code() == grpc.StatusCode.ALREADY_EXISTS and "4 hours" in again.details()
    early = rpc_error(attend, api, e.enrolment_id, 2, today - timedelta(days=5))
    assert "before the course starts" in violations(early)["session_date"]
    too_many = rpc_error(attend, api, e.enrolment_id, 7, today)
    assert too_many.code() == PRECONDITION and "10 class hours" in too_many.details()
    assert rpc_error(attend, api, waiting.enrolment_id, 2, today).code() == PRECONDITION

    short = rpc_error(api.CompleteCourse, pb.CompleteCourseRequest(enrolment_id=e.enrolment_id))
    assert short.code() == PRECONDITION
    assert "attended 4 class hours, 8 needed to complete (80% of 10)" in short.details()
    assert attend(api, e.enrolment_id, 4, today).hours_attended == 8
    done = api.CompleteCourse(pb.CompleteCourseRequest(enrolment_id=e.enrolment_id))
    assert done.status == COMPLETED and done.hours_attended == 8
    assert done.completed_at.seconds > 0
    # a completed enrolment keeps its seat and takes no more attendance or withdrawal
    assert rpc_error(attend, api, e.enrolment_id, 1, today - timedelta(days=2)
                     ).code() == PRECONDITION
    assert rpc_error(api.Withdraw, pb.WithdrawRequest(enrolment_id=e.enrolment_id)
                     ).code() == PRECONDITION
    assert rpc_error(enrol, api, course.course_id, person).code() == (
        grpc.StatusCode.ALREADY_EXISTS)
    assert db_counts(stack, course.course_id)[:2] == (1, 1)

    reader = TopicReader(stack.kafka_bootstrap, "cdsp.employment.v1")
    try:
        found = reader.wait_for(lambda envs: any(x.event_type.endswith(".CourseCompleted")
                                                 for x in envs), key=e.enrolment_id)
    finally:
        reader.close()
    completed = [unpack_payload(x) for x in found if x.event_type.endswith(".CourseCompleted")]
    assert completed == [ev.CourseCompleted(enrolment_id=e.enrolment_id,
                                            course_id=course.course_id, person_id=person,
                                            hours_attended=8)]


def test_who_may_enrol_whom(tree: Tree, employment: str, stack: devstack.Stack) -> None:
    old = register_job_seeker(tree, resident_id=resident_id(years_ago(60))).person_id
    young = register_job_seeker(tree, resident_id=resident_id(years_ago(15))).person_id
    mine, = seekers(tree, stack, 1, grid=0)
    other, = seekers(tree, stack, 1, grid=1)
    wait_candidates(stack.database_url("employment"), [old, young])
    api = employment_admin(tree, employment)
    community = api.CreateCourse(course_request(tree.community_path))
    for person in (old, young):
        exc = rpc_error(enrol, api, community.course_id, person)
        assert exc.code() == PRECONDITION and "outside working age (16-59)" in exc.details()
    worker = employment_stub(employment, token("grid_worker", [tree.grid_paths[0]]))
    assert rpc_error(enrol, worker, community.course_id, other).code() == DENIED
    assert enrol(worker, community.course_id, mine).status == ENROLLED
    # a grid's course is for that grid's residents only
    grid_course = api.CreateCourse(course_request(tree.grid_paths[0]))
    exc = rpc_error(enrol, api, grid_course.course_id, other)
    assert exc.code() == PRECONDITION
    assert f"for residents of {tree.grid_paths[0]}" in exc.details()
    volunteer = employment_stub(employment, token("volunteer", [tree.grid_paths[0]]))
    assert rpc_error(enrol, volunteer, community.course_id, mine).code() == DENIED
    ended = api.CreateCourse(course_request(
        tree.community_path, starts_at=ts(datetime.now(UTC) - timedelta(days=9)),
        ends_at=ts(datetime.now(UTC) - timedelta(days=1))))
    assert "ended" in rpc_error(enrol, api, ended.course_id, other).details()
    assert db_counts(stack, community.course_id)[:2] == (1, 0)


def test_every_bad_field_is_named(tree: Tree, employment: str) -> None:
    api = employment_admin(tree, employment)
    bad = pb.CreateCourseRequest(title=" ", jurisdiction_path="nowhere", capacity=501,
                                 class_hours=0, schedule="x" * 201, track=9)
    exc = rpc_error(api.CreateCourse, bad)
    assert exc.code() == INVALID
    assert set(violations(exc)) == {"title", "jurisdiction_path", "capacity", "class_hours",
                                    "starts_at", "ends_at", "schedule", "track"}
    now = datetime.now(UTC)
    backwards = course_request(tree.community_path, starts_at=ts(now), ends_at=ts(now))
    assert set(violations(rpc_error(api.CreateCourse, backwards))) == {"ends_at"}
    exc = rpc_error(api.Enrol, pb.EnrolRequest(course_id="x", person_id="y"))
    assert set(violations(exc)) == {"course_id", "person_id"}
    for call, request in ((api.GetCourse, pb.GetCourseRequest(course_id="x")),
                          (api.ListEnrolments, pb.ListEnrolmentsRequest(course_id="")),
                          (api.Withdraw, pb.WithdrawRequest(enrolment_id="x")),
                          (api.CompleteCourse, pb.CompleteCourseRequest(enrolment_id="1"))):
        exc = rpc_error(call, request)
        assert exc.code() == INVALID and len(violations(exc)) == 1, request
    exc = rpc_error(api.RecordAttendance, pb.RecordAttendanceRequest(
        enrolment_id=str(uuid.uuid4()), hours=13))
    assert set(violations(exc)) == {"hours", "session_date"}
    exc = rpc_error(api.RecordAttendance, pb.RecordAttendanceRequest(
        enrolment_id=str(uuid.uuid4()), hours=2,
        session_date=common.Date(year=2025, month=2, day=30)))
    assert set(violations(exc)) == {"session_date"}
    future = datetime.now(LOCAL_TZ).date() + timedelta(days=2)
    exc = rpc_error(attend, api, str(uuid.uuid4()), 0, future)
    assert set(violations(exc)) == {"hours", "session_date"}
    assert "future" in violations(exc)["session_date"]
