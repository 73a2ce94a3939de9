"""Snapshots of the employment and volunteer services (`python -m runtime.snapshot_cli employment`,
`... volunteer`): every aggregate type re-published with Envelope.snapshot, under the aggregate
type and at the version its live events carry, filed where its row is, with its current state
(a seated and a waitlisted enrolment, an overridden plan, a placement ended with its end date, a
grant; a volunteer's load and minutes, an ended pairing, a schedule raised to red and one never
changed, a visit equal to its live event), and nothing that names a person or repeats a worker's
or a volunteer's own words; `--only` writes that type alone."""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

import devstack
from cdsp.common.v1 import common_pb2 as common
from cdsp.employment.v1 import employment_pb2 as epb
from cdsp.events.v1 import employment_pb2 as eev
from cdsp.events.v1 import volunteer_pb2 as vev
from cdsp.events.v1.envelope_pb2 import Envelope
from cdsp.volunteer.v1 import volunteer_pb2 as vpb
from runtime.events import unpack_payload
from runtime.timestamps import to_timestamp
from tests.employment_helpers import employment_admin, register_job_seeker, scores, wait_candidates
from tests.events import TopicReader
from tests.helpers import Tree
from tests.integration.test_employment_courses import attend, course_request, enrol
from tests.integration.test_snapshots import snapshot_cli
from tests.notification_helpers import ServiceDb
from tests.volunteer_helpers import new_volunteer, register_alone, volunteer_admin, wait_persons

TZ = ZoneInfo("Asia/Shanghai")   # the services' local time zone (CDSP_LOCAL_TZ's default)
NAME, PHONE = "王小明", "13912345678"               # every test person's (tests.helpers.person)
HELPER_NAME, HELPER_PHONE = "陈志愿", "13800001111"  # every test volunteer's (new_volunteer)
Key = tuple[str, str]   # (aggregate type, aggregate id)


def _d(day: date) -> common.Date:
    return common.Date(year=day.year, month=day.month, day=day.day)


def _counted(done: subprocess.CompletedProcess[str]) -> dict[str, int]:
    """What the command wrote: aggregates per type, as it prints them."""
    assert done.returncode == 0, done.stderr
    return {t: int(n) for t, n in (line.split("\t") for line in done.stdout.splitlines())}


def _snapshots(stack: devstack.Stack, topic: str, wanted: set[Key]) -> dict[Key, Envelope]:
    """The latest snapshot event of each wanted aggregate on the topic, once each has one."""
    reader = TopicReader(stack.kafka_bootstrap, topic)
    try:
        found = reader.wait_for(lambda envs: wanted <= {(e.aggregate_type, e.aggregate_id)
                                                        for e in envs if e.snapshot})
    finally:
        reader.close()
    return {(e.aggregate_type, e.aggregate_id): e for e in found
            if e.snapshot and (e.aggregate_type, e.aggregate_id) in wanted}


def _state(found: dict[Key, Envelope], aggregate_type: str, aggregate_id: str
           ) -> tuple[int, str, Message]:
    e = found[(aggregate_type, aggregate_id)]
    return e.aggregate_version, e.jurisdiction_path, unpack_payload(e)


def _assert_private(found: dict[Key, Envelope], *words: str) -> None:
    for e in found.values():
        raw = e.SerializeToString()
        leaked = [w for w in words if w.encode() in raw]
        assert not leaked, f"the snapshot of {e.aggregate_type} {e.aggregate_id} holds {leaked}"


def test_employment_re_publishes_courses_enrolments_plans_placements_and_grants(
        tree: Tree, employment: str, stack: devstack.Stack) -> None:
    override, ended_why = "照顾家中老人，只能居家", "合同到期回家照顾母亲"
    adaptation, rights, business = "适应良好，同事很照顾", "加班费未付", "电商直播工作室"
    ids = [register_job_seeker(tree).person_id for _ in range(3)]
    wait_candidates(stack.database_url("employment"), ids)
    assessed, queued_person, placed_person = ids
    api = employment_admin(tree, employment)
    today = datetime.now(TZ).date()

    made = api.RecordAssessment(epb.RecordAssessmentRequest(person_id=assessed,
                                                            scores=scores(skills=4)))
    plan = api.OverridePlan(epb.OverridePlanRequest(
        person_id=assessed, track=eev.EMPLOYMENT_TRACK_HOME_BASED, reason=override,
        expected_version=made.plan.version))
    course = api.CreateCourse(course_request(tree.community_path, capacity=1, class_hours=10))
    seated = enrol(api, course.course_id, assessed)
    queued = enrol(api, course.course_id, queued_person)
    seated = attend(api, seated.enrolment_id, 4, today - timedelta(days=1))

    db = ServiceDb(stack.database_url("employment"))
    employer, post = db.rows(
        "WITH e AS (INSERT INTO employers (employer_id, name, jurisdiction_path, "
        "monthly_subsidy_fen, agreement_start, created_by) VALUES (gen_random_uuid(), '企业', "
        "%s, 250000, '2020-01-01', 'test') RETURNING employer_id) "
        "INSERT INTO posts (post_id, kind, employer_id, title, jurisdiction_path, openings, "
        "created_by) SELECT gen_random_uuid(), %s, employer_id, '岗位', %s, 1, 'test' FROM e "
        "RETURNING employer_id::text, post_id::text",
        [tree.community_path, epb.POST_KIND_ENTERPRISE, tree.community_path])[0]
    start = today - timedelta(days=3)
    placed = api.Place(epb.PlaceRequest(person_id=placed_person, post_id=post,
                                        start_date=_d(start)))
    visited = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    api.RecordFollowUp(epb.RecordFollowUpRequest(
        placement_id=placed.placement_id, visited_at=to_timestamp(visited),
        monthly_wage_fen=300_000, adaptation=adaptation, rights_issues=rights))
    ended = api.EndPlacement(epb.EndPlacementRequest(placement_id=placed.placement_id,
                                                     reason=ended_why, end_date=_d(today)))
    assert ended.version == 3   # placed, visited, ended
    grant = api.AwardStartupGrant(epb.AwardStartupGrantRequest(
        person_id=queued_person, amount_fen=600_000, business=business))

    counted = _counted(snapshot_cli(stack, "employment", "--page", "2"))
    assert set(counted) == {"course", "course_enrolment", "employment_plan",
                            "employment_placement", "employment_startup_grant"}
    assert counted["course_enrolment"] >= 2 and min(counted.values()) >= 1

    found = _snapshots(stack, "cdsp.employment.v1", {
        ("course", course.course_id), ("course_enrolment", seated.enrolment_id),
        ("course_enrolment", queued.enrolment_id), ("employment_plan", assessed),
        ("employment_placement", placed.placement_id),
        ("employment_startup_grant", grant.grant_id)})
    grid = tree.grid_paths[0]
    assert {e.producer for e in found.values()} == {"employment"}
    assert _state(found, "course", course.course_id) == (1, tree.community_path, eev.CourseState(
        course_id=course.course_id, title="电商直播", track=eev.EMPLOYMENT_TRACK_NEW_ECONOMY,
        capacity=1, seats_taken=1, waitlisted=1, class_hours=10, starts_at=course.starts_at,
        ends_at=course.ends_at))
    assert _state(found, "course_enrolment", seated.enrolment_id) == (2, grid, eev.EnrolmentState(
        enrolment_id=seated.enrolment_id, course_id=course.course_id, person_id=assessed,
        status=eev.ENROLMENT_STATUS_ENROLLED, hours_attended=4, enrolled_at=seated.enrolled_at))
    assert _state(found, "course_enrolment", queued.enrolment_id) == (1, grid, eev.EnrolmentState(
        enrolment_id=queued.enrolment_id, course_id=course.course_id, person_id=queued_person,
        status=eev.ENROLMENT_STATUS_WAITLISTED, waitlist_position=1,
        enrolled_at=queued.enrolled_at))
    assert _state(found, "employment_plan", assessed) == (2, grid, eev.PlanState(
        plan_id=plan.plan_id, person_id=assessed, track=eev.EMPLOYMENT_TRACK_HOME_BASED,
        recommended_track=made.plan.track, overridden=True,
        assessment_id=made.assessment.assessment_id, total_score=made.assessment.total_score,
        made_at=plan.made_at))
    assert _state(found, "employment_placement", placed.placement_id) == (
        3, grid, eev.PlacementState(
            placement_id=placed.placement_id, person_id=placed_person, post_id=post,
            employer_id=employer, full_time=True, start_date=_d(start), end_date=_d(today),
            ended=True, monthly_subsidy_fen=250_000, last_follow_up_at=to_timestamp(visited)))
    assert _state(found, "employment_startup_grant", grant.grant_id) == (
        1, grid, eev.StartupGrantAwarded(grant_id=grant.grant_id, person_id=queued_person,
                                         amount_fen=600_000))
    _assert_private(found, NAME, PHONE, override, ended_why, adaptation, rights, business)


def test_volunteer_re_publishes_volunteers_pairings_schedules_and_visits(
        tree: Tree, volunteer: str, stack: devstack.Stack) -> None:
    ended_why, colour_why = "邻居搬走后由家人照顾", "独居老人近日摔倒两次"
    health, safety = "血压偏高需复查", "燃气灶未关"
    alone, other = register_alone(tree).person_id, register_alone(tree).person_id
    wait_persons(stack.database_url("volunteer"), [alone, other])
    api = volunteer_admin(tree, volunteer)
    vid = api.RegisterVolunteer(new_volunteer(tree)).volunteer_id
    api.VerifyVolunteer(vpb.VerifyVolunteerRequest(volunteer_id=vid))
    kept = api.Pair(vpb.PairRequest(person_id=alone, volunteer_id=vid,
                                    role=vev.PAIRING_ROLE_VOLUNTEER))
    gone = api.Pair(vpb.PairRequest(person_id=other, volunteer_id=vid,
                                    role=vev.PAIRING_ROLE_VOLUNTEER))
    gone = api.EndPairing(vpb.EndPairingRequest(pairing_id=gone.pairing_id, reason=ended_why))
    at = (datetime.now(UTC) - timedelta(hours=3)).replace(microsecond=0)
    visit = api.LogVisit(vpb.LogVisitRequest(
        person_id=alone, volunteer_id=vid, visited_at=to_timestamp(at), duration_minutes=50,
        findings=vpb.Findings(health=health, safety=safety, safety_concern=True),
        follow_up_needs=["care"]))
    red = api.SetRiskColour(vpb.SetRiskColourRequest(person_id=alone, colour=vev.RISK_COLOUR_RED,
                                                     reason=colour_why))
    green = api.GetCareSchedule(vpb.GetCareScheduleRequest(person_id=other))
    helper = api.GetVolunteer(vpb.GetVolunteerRequest(volunteer_id=vid))
    assert (helper.load, helper.service_minutes) == (1, 50)
    set_at: dict[str, Timestamp | None] = {r[0]: to_timestamp(r[1]) for r in ServiceDb(
        stack.database_url("volunteer")).rows(
        "SELECT person_id::text, colour_set_at FROM persons WHERE person_id = ANY(%s::uuid[])",
        [[alone, other]])}

    counted = _counted(snapshot_cli(stack, "volunteer", "--page", "2"))
    assert set(counted) == {"volunteer", "pairing", "care_schedule", "visit"}
    assert counted["pairing"] >= 2 and counted["care_schedule"] >= 2

    topic = "cdsp.volunteer.v1"
    found = _snapshots(stack, topic, {
        ("volunteer", vid), ("pairing", kept.pairing_id), ("pairing", gone.pairing_id),
        ("care_schedule", alone), ("care_schedule", other), ("visit", visit.visit_id)})
    grid = tree.grid_paths[0]
    assert {e.producer for e in found.values()} == {"volunteer"}
    assert _state(found, "volunteer", vid) == (1, grid, vev.VolunteerState(
        volunteer_id=vid, kind=vev.VOLUNTEER_KIND_STUDENT, grid_paths=[grid],
        skills=["companionship"], verified=True, max_load=helper.max_load, load=1,
        service_minutes=50, registered_at=helper.registered_at))
    assert _state(found, "pairing", kept.pairing_id) == (1, grid, vev.PairingState(
        pairing_id=kept.pairing_id, person_id=alone, volunteer_id=vid,
        role=vev.PAIRING_ROLE_VOLUNTEER, started_at=kept.started_at))
    assert _state(found, "pairing", gone.pairing_id) == (2, grid, vev.PairingState(
        pairing_id=gone.pairing_id, person_id=other, volunteer_id=vid,
        role=vev.PAIRING_ROLE_VOLUNTEER, started_at=gone.started_at, ended_at=gone.ended_at,
        ended=True))
    # Raised to red by a worker (colour version 1); the other never changed colour (0).
    assert _state(found, "care_schedule", alone) == (1, grid, vev.CareScheduleState(
        person_id=alone, colour=vev.RISK_COLOUR_RED, colour_set_at=set_at[alone],
        last_visit_at=to_timestamp(at), next_due_at=red.next_due_at, living_alone=True))
    assert _state(found, "care_schedule", other) == (0, grid, vev.CareScheduleState(
        person_id=other, colour=vev.RISK_COLOUR_GREEN, colour_set_at=set_at[other],
        next_due_at=green.next_due_at, living_alone=True))
    # A visit is re-published as the event that announced it.
    reader = TopicReader(stack.kafka_bootstrap, topic)
    try:
        live = [e for e in reader.wait_for(bool, key=visit.visit_id) if not e.snapshot]
    finally:
        reader.close()
    assert _state(found, "visit", visit.visit_id) == (1, grid, unpack_payload(live[0]))
    assert unpack_payload(live[0]) == vev.VisitLogged(
        visit_id=visit.visit_id, person_id=alone, volunteer_id=vid, visited_at=to_timestamp(at),
        duration_minutes=50, follow_up_needs=["care"], safety_concern=True)
    _assert_private(found, NAME, PHONE, HELPER_NAME, HELPER_PHONE, ended_why, colour_why,
                    health, safety)


def test_only_the_type_asked_for_is_written(tree: Tree, employment: str, volunteer: str,
                                            stack: devstack.Stack) -> None:
    course = employment_admin(tree, employment).CreateCourse(course_request(tree.community_path))
    person = register_alone(tree).person_id
    wait_persons(stack.database_url("volunteer"), [person])
    api = volunteer_admin(tree, volunteer)
    vid = api.RegisterVolunteer(new_volunteer(tree)).volunteer_id
    pairing = api.Pair(vpb.PairRequest(person_id=person, volunteer_id=vid,
                                       role=vev.PAIRING_ROLE_NEIGHBOUR))
    for service, only, mine in (("employment", "course", course.course_id),
                                ("volunteer", "pairing", pairing.pairing_id)):
        db = ServiceDb(stack.database_url(service))
        before = db.rows("SELECT coalesce(max(id), 0) FROM outbox")[0][0]
        counted = _counted(snapshot_cli(stack, service, "--only", only))
        assert set(counted) == {only}
        written = [Envelope.FromString(r[0]) for r in db.rows(
            "SELECT envelope FROM outbox WHERE id > %s ORDER BY id", [before])]
        snapshots = [e for e in written if e.snapshot]
        assert {e.aggregate_type for e in snapshots} == {only}
        assert len(snapshots) == counted[only] and mine in {e.aggregate_id for e in snapshots}
    found = _snapshots(stack, "cdsp.volunteer.v1", {("pairing", pairing.pairing_id)})
    assert _state(found, "pairing", pairing.pairing_id)[:2] == (1, tree.grid_paths[0])
