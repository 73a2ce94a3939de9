"""The "1+1+N" structure a person needs, who may be paired with them in which role, and how
well a volunteer fits (pure rules: the pairing use cases and ProposePairings apply them).

A person living alone needs "1+1+N": one community worker who is responsible, one volunteer who
visits and at least one neighbour; a severely disabled person (grade 1-2) not living alone needs
"1+1+1". Anyone else needs none (and may still be paired).

Who may be paired in a role (refusal() — Pair enforces the same):
  any role          the person lives in a grid the volunteer serves, or below it
  community worker  a volunteer of the community_worker kind, verified; one per person
  volunteer         verified, with spare load (this role counts toward it); one per person
  neighbour         anyone of the grid, verified or not (neighbours help informally); any number

Points out of 100 for a proposal (the constants below):
  grid          15  serves the person's own grid; 8 when they serve an area above it
  kind          25  the kind fits the role (community worker: 1; family doctor, student, retiree:
                    2; neighbour: 3)
  needed        20  the person's structure is missing the role
  verified      10
  load          10  as the volunteer: spare load in proportion; other roles do not count
  skills        10  skills that fit the person (sign_language for a hearing disability,
                    rehabilitation for a physical one, companionship for living alone...), in
                    proportion; full when nothing in particular is called for
  availability  10  weekdays available cover the visits a week the colour calls for (at least 1)
A volunteer is proposed in the role they score best in among those they may take; ties go to
the more spare load, then the volunteer id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

COMMUNITY_WORKER, VOLUNTEER, NEIGHBOUR = 1, 2, 3
ROLES = (COMMUNITY_WORKER, VOLUNTEER, NEIGHBOUR)
ROLE_NAMES = {COMMUNITY_WORKER: "community worker", VOLUNTEER: "volunteer",
              NEIGHBOUR: "neighbour"}
SINGLE_ROLES = (COMMUNITY_WORKER, VOLUNTEER)   # at most one active per person
KIND_NAMES = {1: "student", 2: "retiree", 3: "neighbour", 4: "family doctor",
              5: "community worker"}
ROLE_OF_KIND = {5: COMMUNITY_WORKER, 4: VOLUNTEER, 1: VOLUNTEER, 2: VOLUNTEER, 3: NEIGHBOUR}
# disability category (common.v1) → skills that help
CATEGORY_SKILLS = {1: ("guiding",), 2: ("sign_language",), 3: ("sign_language",),
                   4: ("rehabilitation",), 5: ("special_education",),
                   6: ("psychological_support",), 7: ("rehabilitation",)}
ALONE_SKILL = "companionship"

GRID, GRID_ABOVE, KIND, NEEDED, VERIFIED, LOAD, SKILLS, AVAILABILITY = 15, 8, 25, 20, 10, 10, 10, 10


class Person(Protocol):
    """What the rules need of a person (volunteer.adapters.person_store.PersonRow)."""

    @property
    def jurisdiction_path(self) -> str: ...
    @property
    def category(self) -> int: ...
    @property
    def living_alone(self) -> bool: ...


class Candidate(Protocol):
    """What the rules need of a volunteer (volunteer.adapters.volunteer_store.VolunteerRow)."""

    @property
    def volunteer_id(self) -> str: ...
    @property
    def kind(self) -> int: ...
    @property
    def verified(self) -> bool: ...
    @property
    def load(self) -> int: ...
    @property
    def max_load(self) -> int: ...
    @property
    def skills(self) -> list[str]: ...
    @property
    def weekdays(self) -> list[int]: ...
    @property
    def grid_paths(self) -> list[str]: ...


@dataclass(frozen=True)
class Structure:
    name: str                  # "1+1+N", "1+1+1", or "" when none is needed
    why: str
    missing: tuple[int, ...]   # roles still to fill, in role order

    def describe(self) -> str:
        if not self.name:
            return "none required: neither living alone nor severely disabled (grade 1-2)"
        if not self.missing:
            return f"{self.name} ({self.why}): complete"
        wanted = [f"a {ROLE_NAMES[r]}" if r == NEIGHBOUR else f"the {ROLE_NAMES[r]}"
                  for r in self.missing]
        listed = ", ".join(wanted[:-1]) + " and " + wanted[-1] if len(wanted) > 1 else wanted[0]
        return f"{self.name} ({self.why}): missing {listed}"


@dataclass(frozen=True)
class Reason:
    factor: str
    points: int
    explanation: str


@dataclass(frozen=True)
class Proposal:
    volunteer_id: str
    role: int
    score: int
    reasons: tuple[Reason, ...]


def structure(living_alone: bool, grade: int, active_roles: Iterable[int]) -> Structure:
    """The structure the person needs and what the active pairings (their roles) leave out."""
    if living_alone:
        name, why = "1+1+N", "lives alone"
    elif 1 <= grade <= 2:
        name, why = "1+1+1", f"severely disabled, grade {grade}"
    else:
        return Structure("", "", ())
    have = set(active_roles)
    return Structure(name, why, tuple(r for r in ROLES if r not in have))


def ancestors(path: str) -> list[str]:
    """The path and every path above it: "/a/b/" → ["/a/", "/a/b/"]."""
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]


def serving_grid(person_path: str, grid_paths: Iterable[str]) -> str | None:
    """The closest of the volunteer's grids the person lives in (or below), if any."""
    covering = [g for g in grid_paths if person_path.startswith(g)]
    return max(covering, key=len) if covering else None


def refusal(v: Candidate, role: int, person_path: str, taken: Iterable[int]) -> str | None:
    """Why the volunteer may not be paired with the person in `role` now; None when they may.
    `taken`: the roles of the person's active pairings."""
    who = f"volunteer {v.volunteer_id}"
    if serving_grid(person_path, v.grid_paths) is None:
        return f"{who} does not serve the person's grid {person_path}: pair within the grid"
    if role == COMMUNITY_WORKER and v.kind != 5:
        return (f"{who} is a {KIND_NAMES.get(v.kind, 'volunteer')}: only a community worker "
                f"may be the person's community worker")
    if role in SINGLE_ROLES and not v.verified:
        return f"{who} is not verified yet: verify them before pairing as the {ROLE_NAMES[role]}"
    if role in SINGLE_ROLES and role in set(taken):
        return (f"the person already has a {ROLE_NAMES[role]}: end that pairing first")
    if role == VOLUNTEER and v.load >= v.max_load:
        return f"{who} already visits {v.load} persons, the most they may ({v.max_load})"
    return None


def wanted_skills(person: Person) -> list[str]:
    found = list(CATEGORY_SKILLS.get(person.category, ()))
    if person.living_alone:
        found.append(ALONE_SKILL)
    return sorted(set(found))


def _share(points: int, part: int, whole: int) -> int:
    return (2 * points * part + whole) // (2 * whole)   # rounded half up


def _grid(v: Candidate, person: Person) -> Reason:
    grid = serving_grid(person.jurisdiction_path, v.grid_paths)
    if grid == person.jurisdiction_path:
        return Reason("grid", GRID, f"serves the person's grid {grid}")
    if grid:
        return Reason("grid", GRID_ABOVE, f"serves {grid}, which includes the person's grid")
    return Reason("grid", 0, "does not serve the person's grid")


def _kind(v: Candidate, role: int) -> Reason:
    kind = KIND_NAMES.get(v.kind, "volunteer")
    if ROLE_OF_KIND.get(v.kind) == role:
        return Reason("kind", KIND, f"a {kind} fits the {ROLE_NAMES[role]} role")
    usual = ROLE_NAMES[ROLE_OF_KIND.get(v.kind, NEIGHBOUR)]
    return Reason("kind", 0, f"a {kind} is usually a {usual}, not a {ROLE_NAMES[role]}")


def _needed(role: int, needs: Structure) -> Reason:
    if role in needs.missing:
        return Reason("needed", NEEDED, f"the person's {needs.name} still needs a "
                                        f"{ROLE_NAMES[role]}")
    if needs.name:
        return Reason("needed", 0, f"the person's {needs.name} has a {ROLE_NAMES[role]} "
                                   f"already")
    return Reason("needed", 0, "no pairing structure is required for the person")


def _load(v: Candidate, role: int) -> Reason:
    if role == VOLUNTEER:
        return Reason("load", _share(LOAD, v.max_load - v.load, v.max_load),
                      f"visits {v.load} of at most {v.max_load} persons")
    return Reason("load", LOAD, f"a {ROLE_NAMES[role]} does not count toward their load")


def _skills(v: Candidate, person: Person) -> Reason:
    wanted = wanted_skills(person)
    if not wanted:
        return Reason("skills", SKILLS, "no particular skill is called for")
    fit = [s for s in wanted if s in v.skills]
    lacking = [s for s in wanted if s not in fit]
    text = "; ".join(part for part in (f"has {', '.join(fit)}" if fit else "",
                                       f"lacks {', '.join(lacking)}" if lacking else "")
                     if part)
    return Reason("skills", _share(SKILLS, len(fit), len(wanted)), text)


def _availability(v: Candidate, visits_per_week: int) -> Reason:
    need, days = min(max(visits_per_week, 1), 7), len(set(v.weekdays))
    if not days:
        return Reason("availability", 0, "no weekdays of availability given")
    return Reason("availability", _share(AVAILABILITY, min(days, need), need),
                  f"available {days} day(s) a week; {need} visit(s) a week called for")


def explain(v: Candidate, role: int, person: Person, needs: Structure,
            visits_per_week: int) -> Proposal:
    """The points of pairing `v` in `role`, each with why."""
    reasons = (_grid(v, person), _kind(v, role), _needed(role, needs),
               Reason("verified", VERIFIED, "verified") if v.verified
               else Reason("verified", 0, "not verified yet"),
               _load(v, role), _skills(v, person), _availability(v, visits_per_week))
    return Proposal(v.volunteer_id, role, sum(r.points for r in reasons), reasons)


def propose(candidates: Iterable[Candidate], person: Person, needs: Structure,
            taken: Iterable[int], visits_per_week: int, limit: int) -> list[Proposal]:
    """Each candidate in their best role they may take, best first."""
    taken = set(taken)
    ranked: list[tuple[int, int, str, Proposal]] = []
    for v in candidates:
        options = [explain(v, r, person, needs, visits_per_week) for r in ROLES
                   if refusal(v, r, person.jurisdiction_path, taken) is None]
        if options:
            best = max(options, key=lambda p: (p.score, -p.role))
            ranked.append((-best.score, v.load - v.max_load, v.volunteer_id, best))
    ranked.sort(key=lambda t: t[:3])
    return [t[3] for t in ranked[:limit]]
