"""The employment part of `make demo`: three job seekers of the sample community are assessed
(the plan's track and why), one plan is overridden with a reason, a two-seat e-commerce course
fills and puts the third on its waiting list, a partner enterprise posts a technical job, the
candidates are ranked for it with the reasons, the best is placed (follow-up due in two months,
the enterprise's subsidy owed this month), and the refusals the rules call for. The placement is
kept in .local/demo-employment.json and ended by the next run, so the demo can run again."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any

import grpc
from demo_checks import check, expect_error

import devstack
from cdsp.employment.v1 import employment_pb2 as pb
from cdsp.employment.v1.employment_pb2_grpc import EmploymentServiceStub
from cdsp.events.v1 import employment_pb2 as ev
from runtime.grpc_client import sync_channel
from runtime.timestamps import to_timestamp
from sample_community import TZ

TRACKS = {1: "技术岗位 technical", 2: "辅助性岗位 auxiliary", 3: "新业态 new economy",
          4: "居家就业 home-based"}
STATE = "demo-employment.json"
INDICATORS = ("physical_function", "cognition", "communication", "interests", "skills",
              "work_stamina", "social_adaptation")
PROFILES = [(4, 3, 3, 3, 4, 4, 3), (3, 4, 4, 4, 4, 3, 4), (2, 2, 3, 2, 2, 2, 3)]


def _yuan(fen: int) -> str:
    return f"¥{fen // 100:,}.{fen % 100:02d}"


def _job_seekers(api: EmploymentServiceStub, person_ids: list[str]) -> list[pb.Candidate]:
    """Working-age persons who want work, once the service has projected them."""
    deadline = time.monotonic() + 30
    while True:
        found = []
        for person_id in person_ids:
            try:
                c = api.GetCandidate(pb.GetCandidateRequest(person_id=person_id))
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.NOT_FOUND:
                    raise
                continue
            if c.wants_work and c.working_age and not c.placed_full_time:
                found.append(c)
        if len(found) >= 3 or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def run(stack: devstack.Stack, sample: dict[str, Any], admin_token: str) -> None:
    community = sample["community_path"]
    worker = stack.token("cw-01", "community_worker", [community])
    api = EmploymentServiceStub(sync_channel(stack.grpc_addr("employment"), worker))
    state_file = stack.state_dir / STATE
    state: dict[str, str] = json.loads(state_file.read_text()) if state_file.exists() else {}
    if state.get("placement_id"):  # an earlier run's placement ends, so this run can place again
        try:
            api.EndPlacement(pb.EndPlacementRequest(placement_id=state.pop("placement_id"),
                                                    reason="演示：合同期满"))
        except grpc.RpcError as exc:
            if exc.code() not in (grpc.StatusCode.FAILED_PRECONDITION,
                                  grpc.StatusCode.NOT_FOUND):
                raise
        state_file.write_text(json.dumps(state))

    print(f"\n=== 就业评估 Vocational assessment (community worker cw-01, scope {community})")
    seekers = _job_seekers(api, sample["persons"])
    check(len(seekers) >= 3, f"{len(seekers)} working-age residents want work and are projected "
                             "from the registry's events")
    plans: dict[str, pb.Plan] = {}
    for candidate, profile in zip(seekers[:3], PROFILES, strict=True):
        made = api.RecordAssessment(pb.RecordAssessmentRequest(
            person_id=candidate.person_id, scores=[
                pb.IndicatorScore(indicator=n, score=s) for n, s in zip(INDICATORS, profile,
                                                                        strict=True)]))
        plans[candidate.person_id] = made.plan
        print(f"  person {candidate.person_id[:8]}…, age {candidate.age}, grade "
              f"{candidate.grade}: total {made.assessment.total_score}/100 → "
              f"{TRACKS[made.plan.track]}\n      why: {made.plan.reasons[0]}")
    first, second, third = (c.person_id for c in seekers[:3])
    changed = api.OverridePlan(pb.OverridePlanRequest(
        person_id=third, track=ev.EMPLOYMENT_TRACK_HOME_BASED, reason="需照顾老人，只能居家",
        expected_version=plans[third].version))
    check(changed.overridden and changed.track == ev.EMPLOYMENT_TRACK_HOME_BASED,
          f"plan of {third[:8]}… overridden to {TRACKS[changed.track]} (recorded: "
          f"{changed.reasons[0]})")

    print("\n=== 技能培训 Training: a course with 2 seats")
    now = datetime.now(TZ)
    course = api.CreateCourse(pb.CreateCourseRequest(
        title="电商直播", jurisdiction_path=community, capacity=2, class_hours=20,
        starts_at=to_timestamp(now + timedelta(days=7)),
        ends_at=to_timestamp(now + timedelta(days=37)),
        schedule="周二、周四 14:00-16:00", track=ev.EMPLOYMENT_TRACK_NEW_ECONOMY))
    for person_id in (first, second, third):
        e = api.Enrol(pb.EnrolRequest(course_id=course.course_id, person_id=person_id,
                                      allow_waitlist=True))
        status = pb.EnrolmentStatus.Name(e.status).removeprefix("ENROLMENT_STATUS_").lower()
        print(f"  {person_id[:8]}… {status}" + (f" (position {e.waitlist_position})"
                                                 if e.waitlist_position else ""))
    full = api.GetCourse(pb.GetCourseRequest(course_id=course.course_id))
    check(full.seats_taken == 2 and full.waiting == 1,
          f"{full.seats_taken}/{full.capacity} seats taken, {full.waiting} on the waiting list")

    print("\n=== 岗位匹配 A partner enterprise's post, and the candidates ranked for it")
    employer = api.RegisterEmployer(pb.RegisterEmployerRequest(
        name="泉州鲤城电子装配厂", jurisdiction_path=community))
    check(employer.monthly_subsidy_fen == 200_000,
          f"employer agreement: {_yuan(employer.monthly_subsidy_fen)} a month per placed person")
    post = api.CreatePost(pb.CreatePostRequest(
        kind=pb.POST_KIND_ENTERPRISE, employer_id=employer.employer_id, title="电子元件质检员",
        jurisdiction_path=community, track=ev.EMPLOYMENT_TRACK_TECHNICAL, openings=2,
        staggered_hours=True, full_time=True, monthly_wage_fen=380_000))
    ranked = api.MatchCandidates(pb.MatchCandidatesRequest(post_id=post.post_id, limit=3))
    for m in ranked.matches:
        print(f"  {m.person_id[:8]}… score {m.score}: " + "; ".join(
            f"{r.factor} +{r.points} ({r.explanation})" for r in m.reasons if r.points))
    check(bool(ranked.matches), f"{ranked.considered} candidates met the post's requirements; "
                                "the best are ranked with their reasons")

    print("\n=== 安置就业 Placement and follow-up")
    best = ranked.matches[0].person_id if ranked.matches else first
    placed = api.Place(pb.PlaceRequest(person_id=best, post_id=post.post_id))
    state["placement_id"] = placed.placement_id
    state_file.write_text(json.dumps(state))
    due = placed.next_follow_up_due.ToDatetime().replace(tzinfo=None)
    check(placed.status == pb.PLACEMENT_STATUS_ACTIVE,
          f"{best[:8]}… placed full-time; follow-up visit due {due:%Y-%m-%d} (every 2 months)")
    expect_error(grpc.StatusCode.FAILED_PRECONDITION, lambda: api.Place(pb.PlaceRequest(
        person_id=best, post_id=post.post_id)), "placing the same person full-time again")
    owed = api.GetSubsidiesOwed(pb.GetSubsidiesOwedRequest(year=now.year, month=now.month,
                                                           jurisdiction_path=community))
    ours = [e for e in owed.employers if e.employer_id == employer.employer_id]
    owed_fen = ours[0].owed_fen if ours else 0
    check(bool(ours) and 0 < owed_fen <= 200_000 * ours[0].placed_persons,
          f"subsidy owed to the enterprise for {now:%Y-%m} so far: {_yuan(owed_fen)} "
          "(pro rata: ¥2,000 a month for each day of it worked)")
    expect_error(grpc.StatusCode.INVALID_ARGUMENT, lambda: api.AwardStartupGrant(
        pb.AwardStartupGrantRequest(person_id=second, amount_fen=3_000_000,
                                    business="网店")), "a start-up grant of ¥30,000")
    if state.get("grant_person"):  # a start-up grant is once per person
        expect_error(grpc.StatusCode.FAILED_PRECONDITION, lambda: api.AwardStartupGrant(
            pb.AwardStartupGrantRequest(person_id=state["grant_person"], amount_fen=1_000_000,
                                        business="手工艺网店")),
                     "a second start-up grant to the person an earlier run gave one")
    else:
        grant = api.AwardStartupGrant(pb.AwardStartupGrantRequest(
            person_id=second, amount_fen=1_000_000, business="手工艺网店"))
        state["grant_person"] = second
        state_file.write_text(json.dumps(state))
        check(grant.amount_fen == 1_000_000, f"start-up grant {_yuan(grant.amount_fen)} "
                                             "awarded (once per person)")
    figures = api.GetYearlyFigures(pb.GetYearlyFiguresRequest(year=now.year,
                                                              jurisdiction_path=community))
    print(f"  {now.year}: assessed {figures.persons_assessed}, trained "
          f"{figures.persons_trained}, placed {figures.persons_placed}, subsidy owed "
          f"{_yuan(figures.subsidy_owed_fen)}, grants {_yuan(figures.startup_grants_fen)}")

