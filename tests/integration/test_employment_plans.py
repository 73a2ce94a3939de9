"""Employment: the registry's persons projected as candidates, the assessment, the plan its
scores recommend (with reasons), a worker's override, and the refusals."""

from __future__ import annotations

import grpc

import devstack
from cdsp.common.v1 import common_pb2 as common
from cdsp.employment.v1 import employment_pb2 as pb
from cdsp.events.v1 import employment_pb2 as ev
from runtime.events import unpack_payload
from tests.employment_helpers import (
    employment_admin,
    employment_stub,
    register_job_seeker,
    scores,
    wait_candidates,
)
from tests.events import TopicReader
from tests.helpers import Tree, resident_id, rpc_error, token, violations, years_ago

INVALID = grpc.StatusCode.INVALID_ARGUMENT


def test_an_assessment_recommends_a_track_with_reasons_and_a_worker_can_override_it(
        tree: Tree, employment: str, stack: devstack.Stack) -> None:
    person = register_job_seeker(tree, category=common.DISABILITY_CATEGORY_PHYSICAL, grade=4,
                                 resident_id=resident_id(years_ago(45)))
    wait_candidates(stack.database_url("employment"), [person.person_id])
    api = employment_admin(tree, employment)
    candidate = api.GetCandidate(pb.GetCandidateRequest(person_id=person.person_id))
    assert candidate.wants_work and candidate.working_age and candidate.age == 45

    made = api.RecordAssessment(pb.RecordAssessmentRequest(
        person_id=person.person_id, scores=scores(skills=4, work_stamina=4)))
    assert made.assessment.total_score == 66   # 60 for all at 3/5, +3 each for skills, stamina
    plan = made.plan
    assert plan.track == ev.EMPLOYMENT_TRACK_TECHNICAL and not plan.overridden
    assert "technical posts" in plan.reasons[0] and "mild_technical" in plan.reasons[1]

    changed = api.OverridePlan(pb.OverridePlanRequest(
        person_id=person.person_id, track=ev.EMPLOYMENT_TRACK_HOME_BASED,
        reason="照顾家中老人，只能居家", expected_version=plan.version))
    assert changed.track == ev.EMPLOYMENT_TRACK_HOME_BASED and changed.overridden
    assert changed.recommended_track == ev.EMPLOYMENT_TRACK_TECHNICAL
    assert changed.version == plan.version + 1
    stale = rpc_error(api.OverridePlan, pb.OverridePlanRequest(
        person_id=person.person_id, track=ev.EMPLOYMENT_TRACK_AUXILIARY, reason="x",
        expected_version=plan.version))
    assert stale.code() == grpc.StatusCode.FAILED_PRECONDITION
    no_reason = rpc_error(api.OverridePlan, pb.OverridePlanRequest(
        person_id=person.person_id, track=ev.EMPLOYMENT_TRACK_AUXILIARY, reason=" ",
        expected_version=changed.version))
    assert set(violations(no_reason)) == {"reason"}
    assert api.GetPlan(pb.GetPlanRequest(person_id=person.person_id)) == changed

    reader = TopicReader(stack.kafka_bootstrap, "cdsp.employment.v1")
    try:
        found = reader.wait_for(lambda envs: len([e for e in envs if e.event_type.endswith(
            "PlanMade")]) >= 2, key=person.person_id)
    finally:
        reader.close()
    plans = [unpack_payload(e) for e in found if e.event_type.endswith("PlanMade")]
    assert [p.track for p in plans] == [ev.EMPLOYMENT_TRACK_TECHNICAL,  # type: ignore[attr-defined]
                                        ev.EMPLOYMENT_TRACK_HOME_BASED]


def test_scores_out_of_range_or_missing_are_refused_and_nothing_is_written(
        tree: Tree, employment: str, stack: devstack.Stack) -> None:
    person = register_job_seeker(tree)
    wait_candidates(stack.database_url("employment"), [person.person_id])
    api = employment_admin(tree, employment)
    bad = [*scores(cognition=6, skills=-1)[:-1], pb.IndicatorScore(indicator="luck", score=1)]
    exc = rpc_error(api.RecordAssessment, pb.RecordAssessmentRequest(
        person_id=person.person_id, scores=bad))
    assert exc.code() == INVALID
    found = violations(exc)
    assert "cognition is scored from 0 to 5" in found["scores[1].score"]
    assert "scores[4].score" in found and "scores[6].indicator" in found
    assert "social_adaptation is missing" in found["scores"]
    assert rpc_error(api.GetPlan, pb.GetPlanRequest(person_id=person.person_id)
                     ).code() == grpc.StatusCode.NOT_FOUND


def test_outside_working_age_or_jurisdiction_is_refused(tree: Tree, employment: str,
                                                        stack: devstack.Stack) -> None:
    old = register_job_seeker(tree, resident_id=resident_id(years_ago(60)))
    young = register_job_seeker(tree, resident_id=resident_id(years_ago(16)))
    other_grid = register_job_seeker(tree, grid=1)
    wait_candidates(stack.database_url("employment"),
                    [old.person_id, young.person_id, other_grid.person_id])
    api = employment_admin(tree, employment)
    exc = rpc_error(api.RecordAssessment, pb.RecordAssessmentRequest(
        person_id=old.person_id, scores=scores()))
    assert exc.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "outside working age (16-59)" in exc.details()
    assert api.RecordAssessment(pb.RecordAssessmentRequest(
        person_id=young.person_id, scores=scores())).plan.track
    worker = employment_stub(employment, token("grid_worker", [tree.grid_paths[0]]))
    assert rpc_error(worker.GetCandidate, pb.GetCandidateRequest(
        person_id=other_grid.person_id)).code() == grpc.StatusCode.PERMISSION_DENIED
    volunteer = employment_stub(employment, token("volunteer", [tree.grid_paths[1]]))
    assert rpc_error(volunteer.GetCandidate, pb.GetCandidateRequest(
        person_id=other_grid.person_id)).code() == grpc.StatusCode.PERMISSION_DENIED
    assert rpc_error(api.GetCandidate, pb.GetCandidateRequest(person_id="nope")
                     ).code() == INVALID
