"""EmploymentService methods for candidates, assessments and plans."""

from __future__ import annotations

from datetime import datetime
from typing import TypeAlias

import grpc

from cdsp.employment.v1 import employment_pb2 as pb
from employment.adapters.plan_store import AssessmentRow, PlanRow
from employment.config import Employment
from employment.service import plans
from employment.service.access import READ_ROLES, load_candidate
from runtime.auth import current_caller
from runtime.timestamps import to_timestamp

Ctx: TypeAlias = grpc.aio.ServicerContext


def plan_to_proto(plan: PlanRow) -> pb.Plan:
    return pb.Plan(plan_id=plan.plan_id, person_id=plan.person_id,
                   track=plan.track,  # type: ignore[arg-type]
                   reasons=plan.reasons, overridden=plan.overridden,
                   recommended_track=plan.recommended_track,  # type: ignore[arg-type]
                   assessment_id=plan.assessment_id, version=plan.version,
                   made_at=to_timestamp(plan.made_at))


def assessment_to_proto(a: AssessmentRow, order: tuple[str, ...]) -> pb.Assessment:
    return pb.Assessment(assessment_id=a.assessment_id, person_id=a.person_id,
                         scores=[pb.IndicatorScore(indicator=n, score=a.scores[n])
                                 for n in order if n in a.scores],
                         total_score=a.total_score, assessed_at=to_timestamp(a.assessed_at))


class PlanMethods:
    emp: Employment

    async def GetCandidate(self, request: pb.GetCandidateRequest, context: Ctx) -> pb.Candidate:
        caller = current_caller()
        caller.require_role(*READ_ROLES)
        async with self.emp.db.unit_of_work(caller) as uow:
            c = await load_candidate(uow, request.person_id)
        age = c.age(datetime.now(self.emp.local_tz).date())
        rules = self.emp.rules
        return pb.Candidate(person_id=c.person_id, jurisdiction_path=c.jurisdiction_path,
                            category=c.category, grade=c.grade,  # type: ignore[arg-type]
                            age=max(age, 0), wants_work=c.wants_work,
                            working_age=rules.min_age <= age <= rules.max_age,
                            track=c.track,  # type: ignore[arg-type]
                            placed_full_time=c.placed_full_time)

    async def RecordAssessment(self, request: pb.RecordAssessmentRequest, context: Ctx
                               ) -> pb.RecordAssessmentResponse:
        assessment, plan = await plans.assess(
            self.emp, current_caller(), request.person_id,
            [(s.indicator, s.score) for s in request.scores], request.assessor_note)
        return pb.RecordAssessmentResponse(
            assessment=assessment_to_proto(assessment, self.emp.scale.names),
            plan=plan_to_proto(plan))

    async def GetPlan(self, request: pb.GetPlanRequest, context: Ctx) -> pb.Plan:
        return plan_to_proto(await plans.get_plan(self.emp, current_caller(), request.person_id))

    async def OverridePlan(self, request: pb.OverridePlanRequest, context: Ctx) -> pb.Plan:
        return plan_to_proto(await plans.override(
            self.emp, current_caller(), request.person_id, request.track, request.reason,
            request.expected_version))
