"""Matching rules without I/O: employer and post validation, points and explanations, places
and working age."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import pytest

from employment.adapters import post_store
from employment.domain import matching as m
from employment.domain.assessment import default_scale
from employment.domain.matching import PostDraft, PostSpec
from runtime.errors import Violations

STREET = "/C/C-d/C-s/"
GRID = f"{STREET}C-c/C-g1/"
TODAY = date(2024, 6, 15)
EMPLOYER = "00000000-0000-4000-8000-000000000001"


@dataclass(frozen=True)
class Person:
    jurisdiction_path: str = GRID
    category: int = 4
    grade: int = 4
    track: int = 1
    total_score: int = 80
    assessed: bool = True
    wants_work: bool = True


def post(**changes: object) -> PostSpec:
    spec = PostSpec(kind=2, employer_id=EMPLOYER, title="客服", jurisdiction_path=GRID, track=1,
                    openings=2, staggered_hours=False, remote=False, full_time=True,
                    suitable_categories=(4,), min_grade=1, minimum_scores=(),
                    monthly_wage_fen=300_000)
    return replace(spec, **changes)  # type: ignore[arg-type]


def draft(**changes: object) -> PostDraft:
    d = PostDraft(kind=2, employer_id=EMPLOYER, title=" 客服 ", jurisdiction_path=GRID,
                  track=0, openings=3, staggered_hours=True, remote=False, full_time=False,
                  suitable_categories=(4, 1), min_grade=0,
                  minimum_scores=(("skills", 3), ("cognition", 2)), monthly_wage_fen=0)
    return replace(d, **changes)  # type: ignore[arg-type]


def points(spec: PostSpec, person: Person) -> dict[str, int]:
    return {r.factor: r.points for r in m.explain(spec, person).reasons}


def test_the_weights_add_up_to_100_and_the_ideal_candidate_gets_all() -> None:
    assert (m.TRACK + m.ASSESSMENT + m.DISABILITY + m.LOCATION + m.FLEXIBILITY
            + m.WANTS_WORK) == 100
    match = m.explain(post(), Person(total_score=100))
    assert match.score == 100 == sum(r.points for r in match.reasons)
    assert [r.factor for r in match.reasons] == ["track", "assessment", "disability",
                                                 "location", "flexibility", "wants_work"]
    assert all(r.explanation for r in match.reasons)


def test_each_factor_explains_its_points() -> None:
    found = m.explain(post(), Person(track=2, total_score=66, grade=2, wants_work=False,
                                     jurisdiction_path=f"{STREET}C-c/C-g2/"))
    reasons = {r.factor: r for r in found.reasons}
    assert reasons["track"].points == 0 and "plan is auxiliary" in reasons["track"].explanation
    assert reasons["assessment"].points == 17 and "66/100" in reasons["assessment"].explanation
    assert reasons["disability"].points == m.DISABILITY
    assert "adapted for physical" in reasons["disability"].explanation
    assert reasons["location"].points == 10 and "community" in reasons["location"].explanation
    assert reasons["flexibility"].points == 5
    assert "hard with a grade-2" in reasons["flexibility"].explanation
    assert reasons["wants_work"].points == 0
    assert found.score == 0 + 17 + 15 + 10 + 5 + 0


def test_no_plan_no_assessment_and_an_open_post_score_lower() -> None:
    person = Person(track=0, total_score=0, assessed=False)
    got = points(post(), person)
    assert got["track"] == 0 and got["assessment"] == 0
    any_post = post(track=0, suitable_categories=())
    assert points(any_post, person)["track"] == m.TRACK_ANY
    assert points(any_post, person)["disability"] == m.DISABILITY_ANY
    assert "not assessed" in m.explain(post(), person).reasons[1].explanation


@pytest.mark.parametrize(("path", "expected"), [
    (GRID, 15), (f"{STREET}C-c/C-g9/", 10), (f"{STREET}C-x/C-g1/", 5),
    ("/C/C-d/C-t/C-c/C-g1/", 0), ("/Z/", 0)])
def test_location_is_how_close_the_person_lives(path: str, expected: int) -> None:
    assert points(post(), Person(jurisdiction_path=path))["location"] == expected
    assert points(post(remote=True), Person(jurisdiction_path=path))["location"] == m.LOCATION


@pytest.mark.parametrize(("grade", "fixed", "flexible"), [(1, 0, 15), (2, 5, 15), (3, 15, 15),
                                                          (4, 15, 15)])
def test_flexible_posts_suit_severe_grades(grade: int, fixed: int, flexible: int) -> None:
    assert points(post(), Person(grade=grade))["flexibility"] == fixed
    for flex in (post(staggered_hours=True), post(remote=True), post(kind=m.HOME_BASED)):
        assert points(flex, Person(grade=grade))["flexibility"] == flexible


def test_assessment_points_round_half_up() -> None:
    assert [m.assessment_points(t) for t in (0, 1, 2, 66, 98, 100)] == [0, 0, 1, 17, 25, 25]


def test_catchment_is_the_street_and_depth_is_shared_segments() -> None:
    assert m.catchment(GRID) == STREET
    assert m.catchment("/C/C-d/") == "/C/C-d/"
    assert m.shared_depth(GRID, f"{STREET}C-c/") == 4
    assert m.prefix(GRID, 4) == f"{STREET}C-c/"


@pytest.mark.parametrize(("today", "after", "until"), [
    (TODAY, date(1964, 6, 15), date(2008, 6, 15)),
    (date(2024, 2, 29), date(1964, 2, 29), date(2008, 2, 29)),
    (date(2028, 2, 29), date(1968, 2, 29), date(2012, 2, 29)),
    (date(2025, 3, 1), date(1965, 3, 1), date(2009, 3, 1))])
def test_working_age_is_a_birth_date_window(today: date, after: date, until: date) -> None:
    assert m.birth_window(today, 16, 59) == (after, until)


def test_birth_window_on_29_february_of_a_leap_year_uses_28_february() -> None:
    after, until = m.birth_window(date(2024, 2, 29), 17, 58)
    assert (after, until) == (date(1965, 2, 28), date(2007, 2, 28))


def test_an_employer_gets_defaults_and_every_bad_field_is_named() -> None:
    v = Violations()
    spec = m.employer_spec(v, " 某某科技 ", "/C/C-d/", 0, (0, 0, 0), (0, 0, 0), 200_000, TODAY)
    assert not v and spec.name == "某某科技" and spec.monthly_subsidy_fen == 200_000
    assert spec.agreement_start == TODAY and spec.agreement_end is None
    v = Violations()
    m.employer_spec(v, " ", "C/d", -1, (2024, 13, 1), (2024, 1, 1), 200_000, TODAY)
    assert {x.field for x in v.items} == {"name", "jurisdiction_path", "monthly_subsidy_fen",
                                          "agreement_start"}
    v = Violations()
    m.employer_spec(v, "x" * 101, "/C/", 1, (2024, 6, 2), (2024, 6, 1), 200_000, TODAY)
    assert {x.field for x in v.items} == {"name", "agreement_end"}


def test_a_post_is_normalised() -> None:
    v = Violations()
    spec = m.post_spec(v, draft(), default_scale())
    assert not v
    assert spec.title == "客服" and spec.min_grade == 1 and spec.employer_id == EMPLOYER
    # in the scale's order: physical_function, cognition, communication, interests, skills, ...
    assert spec.minimum_scores == (0, 2, 0, 0, 3, 0, 0)
    assert m.post_spec(v, draft(minimum_scores=(("skills", 0),)), default_scale()
                       ).minimum_scores == ()
    assert not v


@pytest.mark.parametrize(("changes", "field"), [
    ({"kind": 0}, "kind"), ({"kind": 5}, "kind"),
    ({"employer_id": ""}, "employer_id"), ({"employer_id": "x"}, "employer_id"),
    ({"title": "  "}, "title"), ({"title": "t" * 101}, "title"),
    ({"jurisdiction_path": "C"}, "jurisdiction_path"), ({"track": 5}, "track"),
    ({"openings": 0}, "openings"), ({"openings": 1001}, "openings"),
    ({"suitable_categories": (4, 9)}, "suitable_categories[1]"),
    ({"suitable_categories": (4, 4)}, "suitable_categories"),
    ({"min_grade": 5}, "min_grade"), ({"min_grade": -1}, "min_grade"),
    ({"minimum_scores": (("luck", 1),)}, "minimum_scores[0].indicator"),
    ({"minimum_scores": (("skills", 1), ("skills", 2))}, "minimum_scores[1].indicator"),
    ({"minimum_scores": (("skills", 6),)}, "minimum_scores[0].score"),
    ({"monthly_wage_fen": -1}, "monthly_wage_fen")])
def test_each_bad_post_field_is_named(changes: dict[str, object], field: str) -> None:
    v = Violations()
    m.post_spec(v, draft(**changes), default_scale())
    assert [x.field for x in v.items] == [field]


def test_only_enterprise_posts_need_an_employer() -> None:
    v = Violations()
    assert m.post_spec(v, draft(kind=1, employer_id=""), default_scale()).employer_id is None
    assert not v


def test_the_sql_points_leave_out_what_is_the_same_for_every_candidate() -> None:
    remote_any = post(remote=True, track=0, staggered_hours=True, suitable_categories=())
    sql, params, same_place = post_store.candidate_points(remote_any)
    assert sql.startswith(f"{m.DISABILITY_ANY + m.TRACK_ANY + m.FLEXIBILITY + m.LOCATION} + ")
    assert "LIKE" not in sql and "track" not in sql and not params and same_place
    sql, params, same_place = post_store.candidate_points(post())
    assert params == [1, f"{GRID}%", f"{STREET}C-c/%"] and not same_place
    assert sql.startswith(f"{m.DISABILITY + m.LOCATION_BY_SHARED[3]} + ")
    city_post = post(jurisdiction_path="/C/")
    assert post_store.candidate_points(city_post)[2]


def test_wide_catchments_read_the_best_of_each_group_and_streets_score_everyone() -> None:
    born = m.birth_window(TODAY, 16, 59)
    remote = post(remote=True)
    assert "LATERAL" in post_store.candidates_query(remote, ["/C/"], born, 20)[0]
    assert "LATERAL" not in post_store.candidates_query(remote, [STREET], born, 20)[0]
    assert "LATERAL" not in post_store.candidates_query(post(), [STREET], born, 20)[0]
    sql, params = post_store.candidates_query(post(jurisdiction_path="/C/", min_grade=3),
                                              ["/C/"], born, 5)
    assert sql.count("%s") == len(params)
    assert [4] in params and [3, 4] in params and [0, 1, 2, 3, 4] in params


def test_an_indicator_listed_twice_is_named_even_when_its_first_score_is_bad() -> None:
    v = Violations()
    m.post_spec(v, draft(minimum_scores=(("skills", 9), ("skills", 2))), default_scale())
    assert [x.field for x in v.items] == ["minimum_scores[0].score",
                                          "minimum_scores[1].indicator"]
