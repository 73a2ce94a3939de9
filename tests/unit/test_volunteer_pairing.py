"""Pairing rules without I/O: the structure a person needs and what is missing, who may be paired
in which role, and the points and reasons of proposals."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from volunteer.domain import pairing as p
from volunteer.domain.pairing import COMMUNITY_WORKER, NEIGHBOUR, VOLUNTEER

GRID = "/C/C-d/C-s/C-c/C-g1/"
COMMUNITY = "/C/C-d/C-s/C-c/"


@dataclass(frozen=True)
class Person:
    jurisdiction_path: str = GRID
    category: int = 2          # hearing
    living_alone: bool = True


@dataclass(frozen=True)
class Vol:
    volunteer_id: str = "v-1"
    kind: int = 1              # student
    verified: bool = True
    load: int = 0
    max_load: int = 5
    skills: list[str] = field(default_factory=lambda: ["companionship", "sign_language"])
    weekdays: list[int] = field(default_factory=lambda: [1, 2, 3, 4, 5, 6, 7])
    grid_paths: list[str] = field(default_factory=lambda: [GRID])


def points(v: Vol, role: int, person: Person = Person(), visits: int = 0,
           active: tuple[int, ...] = ()) -> dict[str, int]:
    needs = p.structure(person.living_alone, 3, active)
    return {r.factor: r.points for r in p.explain(v, role, person, needs, visits).reasons}


def test_living_alone_needs_1_1_n_and_says_what_is_missing() -> None:
    empty = p.structure(True, 4, [])
    assert empty.name == "1+1+N" and empty.missing == (COMMUNITY_WORKER, VOLUNTEER, NEIGHBOUR)
    assert empty.describe() == ("1+1+N (lives alone): missing the community worker, the "
                                "volunteer and a neighbour")
    part = p.structure(True, 1, [NEIGHBOUR, NEIGHBOUR, VOLUNTEER])
    assert part.missing == (COMMUNITY_WORKER,)
    assert part.describe() == "1+1+N (lives alone): missing the community worker"
    assert p.structure(True, 4, [1, 2, 3, 3]).describe() == "1+1+N (lives alone): complete"


@pytest.mark.parametrize("grade", [1, 2])
def test_severe_not_alone_needs_1_1_1(grade: int) -> None:
    needs = p.structure(False, grade, [COMMUNITY_WORKER])
    assert needs.name == "1+1+1" and needs.missing == (VOLUNTEER, NEIGHBOUR)
    assert needs.describe().startswith(f"1+1+1 (severely disabled, grade {grade}): missing")


@pytest.mark.parametrize("grade", [0, 3, 4])
def test_others_need_no_structure(grade: int) -> None:
    needs = p.structure(False, grade, [])
    assert needs.name == "" and needs.missing == ()
    assert needs.describe().startswith("none required")


def test_the_grid_the_volunteer_serves() -> None:
    assert p.ancestors(GRID) == ["/C/", "/C/C-d/", "/C/C-d/C-s/", COMMUNITY, GRID]
    assert p.serving_grid(GRID, ["/X/", COMMUNITY, GRID]) == GRID
    assert p.serving_grid(GRID, [COMMUNITY]) == COMMUNITY
    assert p.serving_grid(GRID, ["/C/C-d/C-s/C-c/C-g2/"]) is None
    assert p.serving_grid(COMMUNITY, [GRID]) is None   # a grid worker does not serve above


def test_refusals_name_the_rule() -> None:
    assert p.refusal(Vol(), VOLUNTEER, GRID, []) is None
    other = p.refusal(Vol(grid_paths=["/C/C-d/C-s/C-c/C-g2/"]), NEIGHBOUR, GRID, [])
    assert other is not None and "does not serve the person's grid" in other
    unverified = p.refusal(Vol(verified=False), VOLUNTEER, GRID, [])
    assert unverified is not None and "not verified" in unverified
    assert p.refusal(Vol(verified=False, kind=3), NEIGHBOUR, GRID, []) is None
    assert "not verified" in (p.refusal(Vol(verified=False, kind=5), COMMUNITY_WORKER, GRID,
                                        []) or "")
    assert "only a community worker" in (p.refusal(Vol(), COMMUNITY_WORKER, GRID, []) or "")
    full = p.refusal(Vol(load=5), VOLUNTEER, GRID, [])
    assert full == "volunteer v-1 already visits 5 persons, the most they may (5)"
    assert p.refusal(Vol(load=5), NEIGHBOUR, GRID, []) is None   # a neighbour: no load
    taken = p.refusal(Vol(), VOLUNTEER, GRID, [VOLUNTEER])
    assert taken is not None and "end that pairing first" in taken
    assert p.refusal(Vol(kind=3), NEIGHBOUR, GRID, [NEIGHBOUR]) is None   # N neighbours


def test_the_ideal_volunteer_gets_every_point() -> None:
    assert p.GRID + p.KIND + p.NEEDED + p.VERIFIED + p.LOAD + p.SKILLS + p.AVAILABILITY == 100
    found = points(Vol(), VOLUNTEER)
    assert found == {"grid": 15, "kind": 25, "needed": 20, "verified": 10, "load": 10,
                     "skills": 10, "availability": 10}


def test_each_factor_can_cost_points() -> None:
    assert points(Vol(grid_paths=[COMMUNITY]), VOLUNTEER)["grid"] == p.GRID_ABOVE
    assert points(Vol(kind=3), VOLUNTEER)["kind"] == 0
    assert points(Vol(), VOLUNTEER, active=(VOLUNTEER,))["needed"] == 0
    assert points(Vol(verified=False), NEIGHBOUR)["verified"] == 0
    assert points(Vol(load=2), VOLUNTEER)["load"] == 6          # 3 of 5 spare
    assert points(Vol(load=2), NEIGHBOUR)["load"] == 10         # not counted
    assert points(Vol(skills=["sign_language"]), VOLUNTEER)["skills"] == 5
    assert points(Vol(skills=[]), VOLUNTEER)["skills"] == 0
    assert points(Vol(weekdays=[6, 7]), VOLUNTEER, visits=7)["availability"] == 3
    assert points(Vol(weekdays=[6, 7]), VOLUNTEER, visits=2)["availability"] == 10
    assert points(Vol(weekdays=[]), VOLUNTEER)["availability"] == 0


@pytest.mark.parametrize(("category", "alone", "wanted"), [
    (2, False, ["sign_language"]), (4, True, ["companionship", "rehabilitation"]),
    (0, True, ["companionship"]), (0, False, [])])
def test_skills_fit_the_disability_and_living_alone(category: int, alone: bool,
                                                   wanted: list[str]) -> None:
    assert p.wanted_skills(Person(category=category, living_alone=alone)) == wanted


def test_reasons_explain_the_points() -> None:
    person = Person(category=4)
    needs = p.structure(True, 3, [])
    v = Vol(kind=4, skills=["rehabilitation"], weekdays=[6, 7], load=4)
    reasons = {r.factor: r.explanation
               for r in p.explain(v, VOLUNTEER, person, needs, 2).reasons}
    assert reasons["kind"] == "a family doctor fits the volunteer role"
    assert reasons["needed"] == "the person's 1+1+N still needs a volunteer"
    assert reasons["skills"] == "has rehabilitation; lacks companionship"
    assert reasons["load"] == "visits 4 of at most 5 persons"
    assert reasons["grid"] == f"serves the person's grid {GRID}"


def test_proposals_best_first_each_in_the_best_role_they_may_take() -> None:
    person = Person()
    needs = p.structure(True, 4, [COMMUNITY_WORKER])
    vols = [Vol("a-weekend", weekdays=[6, 7]), Vol("b-best"),
            Vol("c-neighbour", kind=3, verified=False),
            Vol("d-worker", kind=5),                            # the role is taken
            Vol("e-full", load=5), Vol("f-unverified", verified=False)]
    found = p.propose(vols, person, needs, [COMMUNITY_WORKER], 7, limit=10)
    roles = {x.volunteer_id: x.role for x in found}
    assert roles == {"a-weekend": VOLUNTEER, "b-best": VOLUNTEER, "c-neighbour": NEIGHBOUR,
                     "d-worker": VOLUNTEER,   # the community worker role is taken; tie: lower
                     "e-full": NEIGHBOUR, "f-unverified": NEIGHBOUR}
    assert found[0].volunteer_id == "b-best" and found[0].score == 100
    assert [x.score for x in found] == sorted((x.score for x in found), reverse=True)
    assert [x.volunteer_id for x in p.propose(vols, person, needs, [1], 7, limit=2)] == [
        "b-best", "a-weekend"]


def test_ties_go_to_the_more_spare_load() -> None:
    person = Person(living_alone=False, category=0)
    needs = p.structure(False, 4, [])
    busy, free = Vol("a", kind=3, load=2), Vol("b", kind=3, load=0)   # neighbours: no load
    found = p.propose([busy, free], person, needs, [], 0, limit=5)
    assert [x.score for x in found] == [found[0].score] * 2
    assert [(x.volunteer_id, x.role) for x in found] == [("b", NEIGHBOUR), ("a", NEIGHBOUR)]
