"""The employment service's aggregates as snapshot events (runtime.snapshots; `python -m
runtime.snapshot_cli employment`): every course (CourseState), enrolment (EnrolmentState),
plan (PlanState), placement (PlacementState) and start-up grant (StartupGrantAwarded: a grant is
a fact that never changes), each under the aggregate type and at the version its live events
carry, filed where its row is. Courses publish no live events: `course` is their type here, at
version 1 (a course has no version column; its counts follow from its enrolments' states).

Ids, codes, counts, times and money only: an override's reason, a placement's end reason, what
a follow-up visit found and a grant's business description are a worker's own words and stay.
Candidates are not re-published: what they hold is the registry's (it re-publishes persons),
except the track and score, which are the plan's, and being placed full-time, the placements'.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cdsp.events.v1 import employment_pb2 as ev
from employment.adapters.course_store import _COURSE, _ENROLMENT, CourseRow, EnrolmentRow
from employment.adapters.placement_store import COLUMNS as PLACEMENT_COLUMNS
from employment.adapters.placement_store import PlacementRow
from employment.adapters.plan_store import PLAN_COLUMNS, PlanRow
from employment.domain.placements import ACTIVE
from employment.service.placements import pb_date
from runtime.snapshots import Snapshot, SnapshotSource, page_by_uuid
from runtime.timestamps import to_timestamp


def _course_state(row: Sequence[Any]) -> Snapshot:
    c = CourseRow(*row)
    return Snapshot(ev.CourseState(course_id=c.course_id, title=c.title,
                                   track=c.track,  # type: ignore[arg-type]
                                   capacity=c.capacity, seats_taken=c.seats_taken,
                                   waitlisted=c.waiting, class_hours=c.class_hours,
                                   starts_at=to_timestamp(c.starts_at),
                                   ends_at=to_timestamp(c.ends_at)),
                    c.course_id, 1, c.jurisdiction_path)


def _enrolment_state(row: Sequence[Any]) -> Snapshot:
    e = EnrolmentRow(*row)
    return Snapshot(ev.EnrolmentState(enrolment_id=e.enrolment_id, course_id=e.course_id,
                                      person_id=e.person_id,
                                      status=e.status,  # type: ignore[arg-type]
                                      waitlist_position=e.waitlist_position,
                                      hours_attended=e.hours_attended,
                                      enrolled_at=to_timestamp(e.enrolled_at),
                                      completed_at=to_timestamp(e.completed_at)),
                    e.enrolment_id, e.version, e.jurisdiction_path)


def _plan_state(row: Sequence[Any]) -> Snapshot:
    plan, total_score = PlanRow(*row[1:-1]), row[-1]
    return Snapshot(ev.PlanState(plan_id=plan.plan_id, person_id=plan.person_id,
                                 track=plan.track,  # type: ignore[arg-type]
                                 recommended_track=plan.recommended_track,  # type: ignore[arg-type]
                                 overridden=plan.overridden, assessment_id=plan.assessment_id,
                                 total_score=total_score, made_at=to_timestamp(plan.made_at)),
                    plan.person_id, plan.version, plan.jurisdiction_path)


def _placement_state(row: Sequence[Any]) -> Snapshot:
    p = PlacementRow(*row)
    return Snapshot(ev.PlacementState(placement_id=p.placement_id, person_id=p.person_id,
                                      post_id=p.post_id, employer_id=p.employer_id,
                                      full_time=p.full_time, start_date=pb_date(p.start_date),
                                      end_date=pb_date(p.end_date), ended=p.status != ACTIVE,
                                      monthly_subsidy_fen=p.monthly_subsidy_fen,
                                      next_follow_up_due=to_timestamp(p.next_follow_up_due),
                                      last_follow_up_at=to_timestamp(p.last_follow_up_at)),
                    p.placement_id, p.version, p.jurisdiction_path)


def _grant_state(row: Sequence[Any]) -> Snapshot:
    grant_id, person_id, amount_fen, path = row
    return Snapshot(ev.StartupGrantAwarded(grant_id=grant_id, person_id=person_id,
                                           amount_fen=amount_fen), grant_id, 1, path)


SOURCES = [
    # Courses first: a projection of enrolments may want the course they are for.
    SnapshotSource("course", page_by_uuid(_COURSE, "courses", "course_id"), _course_state),
    SnapshotSource("course_enrolment", page_by_uuid(_ENROLMENT, "enrolments", "enrolment_id"),
                   _enrolment_state),
    # The plan is keyed by the person, as PlanMade; its score is the assessment it follows.
    SnapshotSource("employment_plan",
                   page_by_uuid(f"person_id::text, {PLAN_COLUMNS}, (SELECT a.total_score "
                         "FROM assessments a WHERE a.assessment_id = plans.assessment_id)",
                         "plans", "person_id"), _plan_state),
    SnapshotSource("employment_placement",
                   page_by_uuid(PLACEMENT_COLUMNS, "placements", "placement_id"), _placement_state),
    SnapshotSource("employment_startup_grant",
                   page_by_uuid("grant_id::text, person_id::text, amount_fen, jurisdiction_path",
                         "startup_grants", "grant_id"), _grant_state),
]
