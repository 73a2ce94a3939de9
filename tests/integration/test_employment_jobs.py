"""Employers, posts and matching on the real service: candidates ranked for a post (and posts
for a candidate) with the reasons of each rank, the hard requirements that leave candidates out
(age, category, grade, minimum scores, a full-time placement, the post's street), jurisdictions,
and every bad input."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import grpc

import devstack
from cdsp.common.v1 import common_pb2 as common
from cdsp.employment.v1 import employment_pb2 as pb
from cdsp.employment.v1 import employment_pb2_grpc
from cdsp.events.v1 import employment_pb2 as ev
from cdsp.registry.v1 import registry_pb2 as rpb
from tests.employment_helpers import (
    INTELLECTUAL,
    PHYSICAL,
    employment_admin,
    employment_stub,
    register_job_seeker,
    scores,
    wait_candidates,
)
from tests.helpers import Tree, resident_id, rpc_error, token, violations, years_ago

INVALID = grpc.StatusCode.INVALID_ARGUMENT
DENIED = grpc.StatusCode.PERMISSION_DENIED
TECHNICAL = ev.EMPLOYMENT_TRACK_TECHNICAL
Api = employment_pb2_grpc.EmploymentServiceStub


def _seeker(tree: Tree, age: int, grid: int = 0, **fields: object) -> str:
    values = {"category": PHYSICAL, "grade": 4, **fields}
    return register_job_seeker(tree, grid, resident_id=resident_id(years_ago(age)),
                               **values).person_id


def _other_street(tree: Tree) -> rpb.Household:
    """A second street under the test's district, with one community and one grid."""
    parent = f"{tree.city}-d"
    for code, level in ((f"{tree.city}-s2", rpb.JURISDICTION_LEVEL_STREET),
                        (f"{tree.city}-c2", rpb.JURISDICTION_LEVEL_COMMUNITY),
                        (f"{tree.city}-g3", rpb.JURISDICTION_LEVEL_GRID)):
        tree.admin.CreateJurisdiction(rpb.CreateJurisdictionRequest(
            code=code, name="第二街道", level=level, parent_code=parent))
        parent = code
    return tree.admin.CreateHousehold(rpb.CreateHouseholdRequest(
        grid_code=parent, address="二街 1号", monthly_income_fen=250_000))


def _post(api: Api, path: str, **fields: object) -> pb.Post:
    values: dict[str, object] = {"kind": pb.POST_KIND_PUBLIC_WELFARE, "title": "社区保洁",
                                 "jurisdiction_path": path, "openings": 5, "full_time": True}
    values.update(fields)
    return api.CreatePost(pb.CreatePostRequest(**values))  # type: ignore[arg-type]


def _assess(api: Api, person_id: str, **given: int) -> None:
    api.RecordAssessment(pb.RecordAssessmentRequest(person_id=person_id, scores=scores(**given)))


def _ranked(api: Api, post_id: str, limit: int = 0) -> pb.MatchCandidatesResponse:
    return api.MatchCandidates(pb.MatchCandidatesRequest(post_id=post_id, limit=limit))


def _points(match: pb.CandidateMatch | pb.PostMatch) -> dict[str, int]:
    return {r.factor: r.points for r in match.reasons}


def test_candidates_are_ranked_for_a_post_with_the_reasons_of_each_rank(
        tree: Tree, employment: str, stack: devstack.Stack) -> None:
    near = _seeker(tree, 45)                      # grade 4, the post's grid
    neighbour = _seeker(tree, 45, grid=1)         # the same, the next grid
    severe = _seeker(tree, 40, grade=2)           # grade 2: fixed hours are hard
    unassessed = _seeker(tree, 30)
    wrong_kind = _seeker(tree, 30, category=INTELLECTUAL)
    wait_candidates(stack.database_url("employment"),
                    [near, neighbour, severe, unassessed, wrong_kind])
    api = employment_admin(tree, employment)
    for person in (near, wrong_kind):
        _assess(api, person, skills=4, work_stamina=4)     # total 66: technical
    _assess(api, neighbour, skills=5, work_stamina=5)      # total 72: technical
    _assess(api, severe)                                   # total 60: technical
    employer = api.RegisterEmployer(pb.RegisterEmployerRequest(
        name="某某科技有限公司", jurisdiction_path=tree.community_path))
    post = _post(api, tree.grid_paths[0], kind=pb.POST_KIND_ENTERPRISE,
                 employer_id=employer.employer_id, title="数据标注", track=TECHNICAL,
                 suitable_categories=[PHYSICAL, common.DISABILITY_CATEGORY_VISUAL],
                 minimum_scores=[pb.IndicatorScore(indicator="skills", score=3)],
                 monthly_wage_fen=350_000)
    assert post.open and post.min_grade == 1 and post.employer_id == employer.employer_id
    assert [(s.indicator, s.score) for s in post.minimum_scores] == [("skills", 3)]

    found = _ranked(api, post.post_id)
    assert [m.person_id for m in found.matches] == [near, neighbour, severe]
    assert found.considered == 3          # unassessed and wrong_kind fail hard requirements
    assert [m.score for m in found.matches] == [92, 88, 80]
    for m in found.matches:
        assert m.score == sum(r.points for r in m.reasons)
        assert [r.factor for r in m.reasons] == ["track", "assessment", "disability",
                                                 "location", "flexibility", "wants_work"]
    best, second, third = found.matches
    assert _points(best) == {"track": 25, "assessment": 17, "disability": 15, "location": 15,
                             "flexibility": 15, "wants_work": 5}
    assert best.jurisdiction_path == tree.grid_paths[0]
    assert "grid" in best.reasons[3].explanation and "66/100" in best.reasons[1].explanation
    assert _points(second)["location"] == 10 and "community" in second.reasons[3].explanation
    assert _points(third)["flexibility"] == 5 and "grade-2" in third.reasons[4].explanation
    assert [m.person_id for m in _ranked(api, post.post_id, limit=1).matches] == [near]

    remote = _post(api, tree.community_path, remote=True, track=TECHNICAL, full_time=False)
    city_wide = _ranked(api, remote.post_id)     # read group by group from the rank index
    assert [(m.person_id, m.score) for m in city_wide.matches] == [
        (neighbour, 86), (near, 85), (severe, 83), (wrong_kind, 60), (unassessed, 43)]
    assert [m.person_id for m in _ranked(api, remote.post_id, limit=1).matches] == [neighbour]

    open_post = _post(api, tree.community_path, staggered_hours=True, full_time=False)
    everyone = _ranked(api, open_post.post_id)
    assert everyone.considered == 5
    assert everyone.matches[-1].person_id == unassessed          # no points for ability
    last = everyone.matches[-1]
    assert _points(last)["assessment"] == 0 and "not assessed" in last.reasons[1].explanation

    posts = api.MatchPosts(pb.MatchPostsRequest(person_id=near)).matches
    assert [(p.post_id, p.score) for p in posts] == [
        (post.post_id, 92), (remote.post_id, 85), (open_post.post_id, 65)]
    assert posts[0].title == "数据标注" and _points(posts[2])["track"] == 10
    assert [p.post_id for p in api.MatchPosts(pb.MatchPostsRequest(
        person_id=unassessed)).matches] == [open_post.post_id, remote.post_id]


def test_hard_requirements_leave_candidates_out(tree: Tree, employment: str,
                                                stack: devstack.Stack) -> None:
    fits = _seeker(tree, 30, grade=3)
    too_old = _seeker(tree, 60)
    too_young = _seeker(tree, 15)
    mild_only = _seeker(tree, 30, grade=2)
    far = tree.register(_other_street(tree), category=PHYSICAL, grade=4,
                        resident_id=resident_id(years_ago(30)),
                        needs=[rpb.Need(code="employment")]).person_id
    placed = _seeker(tree, 35)
    wait_candidates(stack.database_url("employment"),
                    [fits, too_old, too_young, mild_only, far, placed])
    api = employment_admin(tree, employment)

    full_time = _post(api, tree.grid_paths[0], min_grade=2)
    api.Place(pb.PlaceRequest(person_id=placed, post_id=full_time.post_id))
    assert api.GetCandidate(pb.GetCandidateRequest(person_id=placed)).placed_full_time
    found = _ranked(api, full_time.post_id)
    assert {m.person_id for m in found.matches} == {fits, mild_only}    # not placed, far, ages
    assert found.considered == 2

    part_time = _post(api, tree.grid_paths[0], min_grade=3, full_time=False, openings=1)
    assert {m.person_id for m in _ranked(api, part_time.post_id).matches} == {fits, placed}
    api.Place(pb.PlaceRequest(person_id=fits, post_id=part_time.post_id))
    full = rpc_error(api.MatchCandidates, pb.MatchCandidatesRequest(post_id=part_time.post_id))
    assert full.code() == grpc.StatusCode.FAILED_PRECONDITION       # no opening left

    remote = _post(api, tree.community_path, remote=True, full_time=False)
    anywhere = _ranked(api, remote.post_id)
    assert {m.person_id for m in anywhere.matches} == {fits, mild_only, far, placed}
    assert {_points(m)["location"] for m in anywhere.matches} == {15}

    posts = api.MatchPosts(pb.MatchPostsRequest(person_id=far)).matches
    assert [p.post_id for p in posts] == [remote.post_id]            # not the first street's
    old = rpc_error(api.MatchPosts, pb.MatchPostsRequest(person_id=too_old))
    assert old.code() == grpc.StatusCode.FAILED_PRECONDITION and "working age" in old.details()


def test_jurisdictions_and_roles_bound_matching(tree: Tree, employment: str,
                                                stack: devstack.Stack) -> None:
    here = _seeker(tree, 30, grid=0)
    there = _seeker(tree, 30, grid=1)
    wait_candidates(stack.database_url("employment"), [here, there])
    api = employment_admin(tree, employment)
    community_post = _post(api, tree.community_path)
    grid1_post = _post(api, tree.grid_paths[1])

    worker = employment_stub(employment, token("grid_worker", [tree.grid_paths[0]], "gw-0"))
    for post in (community_post, grid1_post):           # filed above or beside their grid
        assert rpc_error(worker.MatchCandidates, pb.MatchCandidatesRequest(
            post_id=post.post_id)).code() == DENIED
    assert rpc_error(worker.MatchPosts, pb.MatchPostsRequest(person_id=there)).code() == DENIED
    seen = worker.MatchPosts(pb.MatchPostsRequest(person_id=here)).matches
    assert seen == []

    community = employment_stub(employment, token("community_worker",
                                                  [tree.grid_paths[0]], "cw"))  # grid 0 only
    post0 = _post(community, tree.grid_paths[0])
    assert {m.person_id for m in _ranked(community, post0.post_id).matches} == {here}
    assert {m.person_id for m in _ranked(api, post0.post_id).matches} == {here, there}

    assert rpc_error(community.RegisterEmployer, pb.RegisterEmployerRequest(
        name="外区企业", jurisdiction_path=tree.grid_paths[1])).code() == DENIED
    employer = api.RegisterEmployer(pb.RegisterEmployerRequest(
        name="社区企业", jurisdiction_path=tree.grid_paths[1]))
    assert rpc_error(community.CreatePost, pb.CreatePostRequest(
        kind=pb.POST_KIND_ENTERPRISE, employer_id=employer.employer_id, title="岗位",
        jurisdiction_path=tree.grid_paths[0], openings=1)).code() == DENIED
    assert rpc_error(community.CreatePost, pb.CreatePostRequest(
        kind=pb.POST_KIND_PUBLIC_WELFARE, title="岗位", jurisdiction_path=tree.community_path,
        openings=1)).code() == DENIED
    volunteer = employment_stub(employment, token("volunteer", [tree.city_path]))
    assert rpc_error(volunteer.MatchCandidates, pb.MatchCandidatesRequest(
        post_id=post0.post_id)).code() == DENIED
    assert rpc_error(worker.CreatePost, pb.CreatePostRequest(
        kind=pb.POST_KIND_PUBLIC_WELFARE, title="岗位", jurisdiction_path=tree.grid_paths[0],
        openings=1)).code() == DENIED                                 # grid workers only read


def test_an_employer_gets_the_default_subsidy_and_todays_agreement(tree: Tree, employment: str
                                                                   ) -> None:
    api = employment_admin(tree, employment)
    made = api.RegisterEmployer(pb.RegisterEmployerRequest(
        name=" 某某科技 ", jurisdiction_path=tree.community_path))
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assert made.name == "某某科技" and made.monthly_subsidy_fen == 200_000
    assert (made.agreement_start.year, made.agreement_start.month, made.agreement_start.day
            ) == (today.year, today.month, today.day)
    assert not made.HasField("agreement_end")
    agreed = api.RegisterEmployer(pb.RegisterEmployerRequest(
        name="福利工厂", jurisdiction_path=tree.community_path, monthly_subsidy_fen=150_000,
        agreement_start=common.Date(year=2024, month=1, day=1),
        agreement_end=common.Date(year=2026, month=12, day=31)))
    assert agreed.monthly_subsidy_fen == 150_000 and agreed.agreement_end.year == 2026


def test_every_bad_input_is_named(tree: Tree, employment: str, stack: devstack.Stack) -> None:
    api = employment_admin(tree, employment)
    exc = rpc_error(api.RegisterEmployer, pb.RegisterEmployerRequest(
        name=" ", jurisdiction_path="nowhere", monthly_subsidy_fen=-1,
        agreement_start=common.Date(year=2024, month=2, day=30)))
    assert exc.code() == INVALID
    assert set(violations(exc)) == {"name", "jurisdiction_path", "monthly_subsidy_fen",
                                    "agreement_start"}
    exc = rpc_error(api.RegisterEmployer, pb.RegisterEmployerRequest(
        name="x" * 101, jurisdiction_path=tree.community_path,
        agreement_start=common.Date(year=2025, month=1, day=2),
        agreement_end=common.Date(year=2025, month=1, day=1)))
    assert set(violations(exc)) == {"name", "agreement_end"}

    exc = rpc_error(api.CreatePost, pb.CreatePostRequest(
        kind=pb.POST_KIND_ENTERPRISE, title="", jurisdiction_path="/x", track=7, openings=0,
        suitable_categories=[9, 4, 4], min_grade=5, monthly_wage_fen=-5,  # type: ignore[list-item]
        minimum_scores=[pb.IndicatorScore(indicator="luck", score=1),
                        pb.IndicatorScore(indicator="skills", score=6),
                        pb.IndicatorScore(indicator="skills", score=2)]))
    assert exc.code() == INVALID
    found = violations(exc)
    assert set(found) == {"employer_id", "title", "jurisdiction_path", "track", "openings",
                          "suitable_categories[0]", "suitable_categories", "min_grade",
                          "monthly_wage_fen", "minimum_scores[0].indicator",
                          "minimum_scores[1].score", "minimum_scores[2].indicator"}
    assert "required for an enterprise post" in found["employer_id"]
    for request, field in ((pb.CreatePostRequest(kind=0, title="t", openings=1,
                                                 jurisdiction_path=tree.community_path), "kind"),
                           (pb.CreatePostRequest(kind=1, title="t", openings=1001,
                                                 jurisdiction_path=tree.community_path),
                            "openings"),
                           (pb.CreatePostRequest(kind=2, employer_id="acme", title="t",
                                                 openings=1, jurisdiction_path=tree.community_path),
                            "employer_id")):
        assert set(violations(rpc_error(api.CreatePost, request))) == {field}
    missing = rpc_error(api.CreatePost, pb.CreatePostRequest(
        kind=2, employer_id="00000000-0000-4000-8000-000000000000", title="t", openings=1,
        jurisdiction_path=tree.community_path))
    assert missing.code() == grpc.StatusCode.NOT_FOUND

    post = _post(api, tree.community_path)
    for limit in (-1, 201):
        exc = rpc_error(api.MatchCandidates, pb.MatchCandidatesRequest(post_id=post.post_id,
                                                                       limit=limit))
        assert set(violations(exc)) == {"limit"}
    assert set(violations(rpc_error(api.MatchPosts, pb.MatchPostsRequest(
        person_id="00000000-0000-4000-8000-000000000000", limit=500)))) == {"limit"}
    assert set(violations(rpc_error(api.MatchCandidates, pb.MatchCandidatesRequest(
        post_id="p1")))) == {"post_id"}
    assert rpc_error(api.MatchCandidates, pb.MatchCandidatesRequest(
        post_id="00000000-0000-4000-8000-000000000000")).code() == grpc.StatusCode.NOT_FOUND
    assert rpc_error(api.MatchPosts, pb.MatchPostsRequest(
        person_id="00000000-0000-4000-8000-000000000000")).code() == grpc.StatusCode.NOT_FOUND
