"""Employers, posts and matching: what a valid employer or post is, and how well a candidate and
a post fit (pure rules; the post store computes the same points in SQL to rank, these functions
explain the top of the ranking).

Hard requirements (a candidate failing one is not considered): not archived; of working age;
not placed full time when the post is full time; of a category the post suits (when it names
any); grade at least the post's min_grade; when the post demands minimum scores, assessed with
at least those scores (an unassessed candidate qualifies only for posts demanding none, and
gets no assessment points); living in the post's catchment: the post's street (the post's own
area when it is filed above street level), or anywhere in the caller's jurisdictions for a
remote post.

Soft factors, points out of 100 (the constants below):
  track        25  the plan's track is the post's; 10 when the post takes any track
  assessment   25  the assessment total (0-100) scaled to 25, rounded half up; 0 unassessed
  disability   15  the post is adapted for the person's category; 8 when open to any category
  location     15  same grid 15, community 10, street 5, farther 0; a remote post 15
  flexibility  15  staggered hours, remote or home-based: 15; fixed hours on site: by grade
                   (4 and 3: 15, 2: 5, 1: 0)
  wants_work    5  the registry records an employment need
Ties go to the higher assessment total, then the person id. Paths are city/district/street/
community/grid, one level per segment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from employment.domain.assessment import CATEGORIES, TRACK_NAMES, Scale
from runtime.auth import is_valid_path
from runtime.errors import Violations
from runtime.inputs import is_uuid

TRACK, TRACK_ANY = 25, 10
ASSESSMENT = 25
DISABILITY, DISABILITY_ANY = 15, 8
LOCATION = 15
LOCATION_BY_SHARED = {5: 15, 4: 10, 3: 5}   # segments shared with the post: grid, community, street
FLEXIBILITY = 15
FLEXIBILITY_FIXED = {1: 0, 2: 5, 3: 15, 4: 15}  # fixed hours on site, by grade
WANTS_WORK = 5
CATCHMENT_DEPTH = 3  # a post draws on its street
LEVELS = {5: "grid", 4: "community", 3: "street", 2: "district", 1: "city"}

KINDS = {1: "public_welfare", 2: "enterprise", 3: "home_based", 4: "workshop"}
ENTERPRISE, HOME_BASED = 2, 3
CATEGORY_NAMES = {v: k for k, v in CATEGORIES.items()}
MAX_NAME, MAX_OPENINGS, MAX_FEN = 100, 1000, 10**9
Ymd = tuple[int, int, int]


@dataclass(frozen=True)
class EmployerSpec:
    name: str
    jurisdiction_path: str
    monthly_subsidy_fen: int
    agreement_start: date
    agreement_end: date | None


@dataclass(frozen=True)
class PostDraft:
    """A CreatePost request as given."""

    kind: int
    employer_id: str
    title: str
    jurisdiction_path: str
    track: int
    openings: int
    staggered_hours: bool
    remote: bool
    full_time: bool
    suitable_categories: tuple[int, ...]
    min_grade: int
    minimum_scores: tuple[tuple[str, int], ...]
    monthly_wage_fen: int


@dataclass(frozen=True)
class PostSpec:
    kind: int
    employer_id: str | None
    title: str
    jurisdiction_path: str
    track: int
    openings: int
    staggered_hours: bool
    remote: bool
    full_time: bool
    suitable_categories: tuple[int, ...]   # empty: any
    min_grade: int
    minimum_scores: tuple[int, ...]        # per indicator in the scale's order; empty: none
    monthly_wage_fen: int

    @property
    def flexible(self) -> bool:
        return self.staggered_hours or self.remote or self.kind == HOME_BASED


class Profile(Protocol):
    """What scoring needs of a candidate (employment.adapters.candidate_store.CandidateRow)."""

    @property
    def jurisdiction_path(self) -> str: ...
    @property
    def category(self) -> int: ...
    @property
    def grade(self) -> int: ...
    @property
    def track(self) -> int: ...
    @property
    def total_score(self) -> int: ...
    @property
    def assessed(self) -> bool: ...
    @property
    def wants_work(self) -> bool: ...


@dataclass(frozen=True)
class Reason:
    factor: str
    points: int
    explanation: str


@dataclass(frozen=True)
class Match:
    score: int
    reasons: tuple[Reason, ...]


# --- validation -------------------------------------------------------------------------------
def _date(v: Violations, field: str, ymd: Ymd) -> date | None:
    try:
        return date(*ymd)
    except ValueError:
        v.add(field, "not a calendar date")
        return None


def employer_spec(v: Violations, name: str, path: str, subsidy_fen: int, start: Ymd, end: Ymd,
                  default_subsidy_fen: int, today: date) -> EmployerSpec:
    """Checks a RegisterEmployer request (a zero date is unset); every problem goes into v."""
    name = name.strip()
    v.check(0 < len(name) <= MAX_NAME, "name", f"1 to {MAX_NAME} characters")
    v.check(is_valid_path(path), "jurisdiction_path", "must look like /3505/350502/")
    v.check(0 <= subsidy_fen <= MAX_FEN, "monthly_subsidy_fen",
            f"0 (the default, {default_subsidy_fen} fen) to {MAX_FEN}")
    begins = _date(v, "agreement_start", start) if start[0] else today
    ends = _date(v, "agreement_end", end) if end[0] else None
    if begins and ends and ends < begins:
        v.add("agreement_end", "must not be before agreement_start")
    return EmployerSpec(name, path, subsidy_fen or default_subsidy_fen, begins or today, ends)


def post_spec(v: Violations, d: PostDraft, scale: Scale) -> PostSpec:
    """Checks a CreatePost request (not its employer: that takes the store); problems go in v."""
    v.check(d.kind in KINDS, "kind", f"one of {', '.join(KINDS.values())}")
    if d.employer_id:
        v.check(is_uuid(d.employer_id), "employer_id", "must be a UUID")
    elif d.kind == ENTERPRISE:
        v.add("employer_id", "required for an enterprise post")
    title = d.title.strip()
    v.check(0 < len(title) <= MAX_NAME, "title", f"1 to {MAX_NAME} characters")
    v.check(is_valid_path(d.jurisdiction_path), "jurisdiction_path",
            "must look like /3505/350502/ (where the work is)")
    v.check(d.track == 0 or d.track in TRACK_NAMES, "track",
            f"0 (any) or one of {', '.join(TRACK_NAMES.values())}")
    v.check(0 < d.openings <= MAX_OPENINGS, "openings", f"1 to {MAX_OPENINGS}")
    for i, c in enumerate(d.suitable_categories):
        v.check(c in CATEGORY_NAMES, f"suitable_categories[{i}]", "not a disability category")
    v.check(len(set(d.suitable_categories)) == len(d.suitable_categories),
            "suitable_categories", "a category is listed twice")
    v.check(0 <= d.min_grade <= 4, "min_grade", "0 (any: 1) to 4 (mild only)")
    v.check(0 <= d.monthly_wage_fen <= MAX_FEN, "monthly_wage_fen", f"0 to {MAX_FEN}")
    known = {i.name: i.scale for i in scale.indicators}
    minimums: dict[str, int] = {}
    for i, (name, score) in enumerate(d.minimum_scores):
        where = f"minimum_scores[{i}]"
        if name not in known:
            v.add(f"{where}.indicator", f"unknown indicator; one of {', '.join(known)}")
        elif name in minimums:
            v.add(f"{where}.indicator", f"{name} is listed twice")
        else:
            v.check(0 <= score <= known[name], f"{where}.score",
                    f"{name} is scored from 0 to {known[name]}")
            minimums[name] = score
    needs = tuple(minimums.get(n, 0) for n in scale.names) if any(minimums.values()) else ()
    return PostSpec(d.kind, d.employer_id or None, title, d.jurisdiction_path, d.track,
                    d.openings, d.staggered_hours, d.remote, d.full_time,
                    tuple(d.suitable_categories), d.min_grade or 1, needs, d.monthly_wage_fen)


# --- places and ages --------------------------------------------------------------------------
def segments(path: str) -> list[str]:
    return path.strip("/").split("/")


def prefix(path: str, depth: int) -> str:
    """The ancestor (or the path itself) `depth` levels deep."""
    return "/" + "/".join(segments(path)[:depth]) + "/"


def shared_depth(a: str, b: str) -> int:
    n = 0
    for x, y in zip(segments(a), segments(b), strict=False):
        if x != y:
            break
        n += 1
    return n


def catchment(post_path: str) -> str:
    """Where a post that is not remote finds its candidates: its street (or its own area)."""
    return prefix(post_path, CATCHMENT_DEPTH)


def _years_before(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def birth_window(today: date, min_age: int, max_age: int) -> tuple[date, date]:
    """(after, until): of working age today exactly when after < birth date <= until."""
    return _years_before(today, max_age + 1), _years_before(today, min_age)


def assessment_points(total: int) -> int:
    return (total * ASSESSMENT + 50) // 100  # rounded half up, as the store's SQL does


def fixed_hours_points(grade: int) -> int:
    return FLEXIBILITY_FIXED.get(grade, 0)


# --- scoring ----------------------------------------------------------------------------------
def _track(post: PostSpec, c: Profile) -> Reason:
    if post.track == 0:
        return Reason("track", TRACK_ANY, "the post takes any track")
    wanted = TRACK_NAMES[post.track]
    if c.track == post.track:
        return Reason("track", TRACK, f"the person's plan is for {wanted} work, as the post")
    if c.track == 0:
        return Reason("track", 0, f"the post is {wanted} work; the person has no plan yet")
    return Reason("track", 0, f"the post is {wanted} work; the person's plan is "
                              f"{TRACK_NAMES.get(c.track, 'another track')}")


def _assessment(c: Profile) -> Reason:
    if not c.assessed:
        return Reason("assessment", 0, "not assessed yet: no points for ability")
    return Reason("assessment", assessment_points(c.total_score),
                  f"assessed at {c.total_score}/100")


def _disability(post: PostSpec, c: Profile) -> Reason:
    name = CATEGORY_NAMES.get(c.category, "this")
    if post.suitable_categories:
        return Reason("disability", DISABILITY, f"the post is adapted for {name} disability")
    return Reason("disability", DISABILITY_ANY, f"the post is open to any category, not "
                                                f"adapted for {name} disability in particular")


def _location(post: PostSpec, c: Profile) -> Reason:
    if post.remote:
        return Reason("location", LOCATION, "remote work: where the person lives does not matter")
    shared = min(shared_depth(post.jurisdiction_path, c.jurisdiction_path), max(LOCATION_BY_SHARED))
    if shared in LOCATION_BY_SHARED:
        return Reason("location", LOCATION_BY_SHARED[shared],
                      f"lives in the post's {LEVELS[shared]}")
    return Reason("location", 0, "lives outside the post's street")


def _flexibility(post: PostSpec, c: Profile) -> Reason:
    if post.flexible:
        how = ("staggered hours" if post.staggered_hours else "remote work" if post.remote
               else "home-based work")
        return Reason("flexibility", FLEXIBILITY, f"{how} eases the load of a grade-{c.grade} "
                                                  "disability")
    points = fixed_hours_points(c.grade)
    how = "suit" if points == FLEXIBILITY else "are hard with"
    return Reason("flexibility", points, f"fixed hours on site {how} a grade-{c.grade} "
                                         "disability")


def _wants_work(c: Profile) -> Reason:
    if c.wants_work:
        return Reason("wants_work", WANTS_WORK, "the registry records an employment need")
    return Reason("wants_work", 0, "no employment need is recorded")


def explain(post: PostSpec, c: Profile) -> Match:
    """The points of each factor, with why; the score is their sum (0-100)."""
    reasons = (_track(post, c), _assessment(c), _disability(post, c), _location(post, c),
               _flexibility(post, c), _wants_work(c))
    return Match(sum(r.points for r in reasons), reasons)

