"""Assessment and the personal plan: scores → weighted total → the track the rules recommend
(with the reasons), or the track a worker chooses instead, with a recorded reason."""

from __future__ import annotations

from datetime import datetime

from cdsp.events.v1 import employment_pb2 as ev
from employment.adapters import candidate_store, plan_store
from employment.adapters.plan_store import AssessmentRow, PlanRow
from employment.config import Employment
from employment.domain.assessment import TRACK_NAMES, Person
from employment.service.access import MANAGER_ROLES, READ_ROLES, WORKER_ROLES, load_candidate
from employment.service.access import require_working_age as working_age
from runtime.auth import Caller
from runtime.db import UnitOfWork
from runtime.errors import FailedPrecondition, NotFound, Violations

MAX_NOTE = 2000


def _record_plan(uow: UnitOfWork, plan: PlanRow) -> None:
    uow.record(ev.PlanMade(plan_id=plan.plan_id, person_id=plan.person_id,
                           track=plan.track,  # type: ignore[arg-type]
                           overridden=plan.overridden, reasons=plan.reasons),
               aggregate_type="employment_plan", aggregate_id=plan.person_id,
               version=plan.version, jurisdiction_path=plan.jurisdiction_path)


async def assess(emp: Employment, caller: Caller, person_id: str,
                 scores: list[tuple[str, int]], note: str) -> tuple[AssessmentRow, PlanRow]:
    caller.require_role(*WORKER_ROLES)
    given = emp.scale.validate(scores)
    v = Violations()
    v.check(len(note) <= MAX_NOTE, "assessor_note", f"at most {MAX_NOTE} characters")
    v.raise_if_any()
    total = emp.scale.total(given)
    today = datetime.now(emp.local_tz).date()
    async with emp.db.unit_of_work(caller) as uow:
        candidate = await load_candidate(uow, person_id, lock=True)
        age = working_age(emp, candidate, today)
        assessment = await plan_store.add_assessment(uow, candidate.person_id,
                                                     candidate.jurisdiction_path, given, total,
                                                     note.strip())
        await candidate_store.set_assessment(uow, candidate.person_id, total,
                                             [given[n] for n in emp.scale.names])
        advice = emp.tracks.recommend(Person(candidate.category, candidate.grade, age), given,
                                      total)
        plan = await plan_store.save_plan(uow, candidate.person_id, candidate.jurisdiction_path,
                                          assessment.assessment_id, advice.track, advice.track,
                                          list(advice.reasons), False)
        await candidate_store.set_track(uow, candidate.person_id, plan.track)
        uow.record(ev.AssessmentCompleted(assessment_id=assessment.assessment_id,
                                          person_id=candidate.person_id, total_score=total),
                   aggregate_type="employment_assessment",
                   aggregate_id=assessment.assessment_id, version=1,
                   jurisdiction_path=candidate.jurisdiction_path)
        _record_plan(uow, plan)
    return assessment, plan


async def get_plan(emp: Employment, caller: Caller, person_id: str) -> PlanRow:
    caller.require_role(*READ_ROLES)
    async with emp.db.unit_of_work(caller) as uow:
        candidate = await load_candidate(uow, person_id)
        plan = await plan_store.get_plan(uow, candidate.person_id)
    if plan is None:
        raise NotFound("this person has no plan yet: record an assessment first")
    return plan


async def override(emp: Employment, caller: Caller, person_id: str, track: int, reason: str,
                   expected_version: int) -> PlanRow:
    caller.require_role(*MANAGER_ROLES)
    v = Violations()
    v.check(track in TRACK_NAMES, "track", "must be one of technical, auxiliary, new_economy, "
                                           "home_based")
    v.check(bool(reason.strip()), "reason", "is required: say why the recommendation is set "
                                            "aside")
    v.check(len(reason) <= MAX_NOTE, "reason", f"at most {MAX_NOTE} characters")
    v.check(expected_version > 0, "expected_version", "the version of the plan you read")
    v.raise_if_any()
    async with emp.db.unit_of_work(caller) as uow:
        candidate = await load_candidate(uow, person_id, lock=True)
        current = await plan_store.get_plan(uow, candidate.person_id, lock=True)
        if current is None:
            raise NotFound("this person has no plan yet: record an assessment first")
        if current.version != expected_version:
            raise FailedPrecondition(f"the plan is at version {current.version}, not "
                                     f"{expected_version}: read it again")
        reasons = [f"override by {caller.subject}: {reason.strip()}",
                   f"the rules recommended {TRACK_NAMES[current.recommended_track]}"]
        plan = await plan_store.save_plan(uow, candidate.person_id, candidate.jurisdiction_path,
                                          current.assessment_id, current.recommended_track,
                                          track, reasons, True)
        await candidate_store.set_track(uow, candidate.person_id, track)
        _record_plan(uow, plan)
    return plan
