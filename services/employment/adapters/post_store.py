"""SQL for employers and posts, and the two matching queries.

Matching is one query each: the hard requirements as conditions, the points of
employment.domain.matching as one SQL expression (built here from the same constants, so the
explanations add up to the rank), the count of who passed, and ORDER BY points LIMIT n. Under
FORCE ROW LEVEL SECURITY only leakproof conditions reach an index (see runtime.sql): subtree
ranges (~>=~, ~<~) and comparisons of key columns are, so they drive the covering indexes of
migration 0006; the rest is checked on the index tuples.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from employment.adapters.candidate_store import COLUMNS as CANDIDATE_COLUMNS
from employment.adapters.candidate_store import CandidateRow
from employment.domain import matching as m
from employment.domain.assessment import TRACK_NAMES
from employment.domain.matching import EmployerSpec, PostSpec
from runtime.db import UnitOfWork
from runtime.sql import in_subtrees

_EMPLOYER = ("employer_id::text, name, jurisdiction_path, monthly_subsidy_fen, agreement_start, "
             "agreement_end")
_POST = ("post_id::text, kind, employer_id::text, title, jurisdiction_path, track, openings, "
         "staggered_hours, remote, full_time, suitable_categories, min_grade, minimum_scores, "
         "monthly_wage_fen, filled, open")


@dataclass(frozen=True)
class EmployerRow:
    employer_id: str
    spec: EmployerSpec


@dataclass(frozen=True)
class PostRow:
    post_id: str
    spec: PostSpec
    filled: int
    open: bool


def _employer(r: Any) -> EmployerRow:
    return EmployerRow(r[0], EmployerSpec(*r[1:6]))


def _post(r: Any) -> PostRow:
    spec = PostSpec(r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], tuple(r[10]), r[11],
                    tuple(r[12]), r[13])
    return PostRow(r[0], spec, r[14], r[15])


async def add_employer(uow: UnitOfWork, e: EmployerSpec) -> EmployerRow:
    row = await uow.fetchone(
        "INSERT INTO employers (employer_id, name, jurisdiction_path, monthly_subsidy_fen, "
        "agreement_start, agreement_end, created_by) VALUES (%s, %s, %s, %s, %s, %s, %s) "
        f"RETURNING {_EMPLOYER}",
        [str(uuid.uuid4()), e.name, e.jurisdiction_path, e.monthly_subsidy_fen,
         e.agreement_start, e.agreement_end, uow.caller.subject])
    return _employer(row)


async def get_employer(uow: UnitOfWork, employer_id: str) -> EmployerRow | None:
    row = await uow.fetchone(f"SELECT {_EMPLOYER} FROM employers WHERE employer_id = %s",
                             [employer_id])
    return _employer(row) if row else None


async def add_post(uow: UnitOfWork, p: PostSpec) -> PostRow:
    row = await uow.fetchone(
        "INSERT INTO posts (post_id, kind, employer_id, title, jurisdiction_path, track, "
        "openings, staggered_hours, remote, full_time, suitable_categories, min_grade, "
        "minimum_scores, monthly_wage_fen, created_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, "
        f"%s, %s, %s, %s, %s, %s, %s) RETURNING {_POST}",
        [str(uuid.uuid4()), p.kind, p.employer_id, p.title, p.jurisdiction_path, p.track,
         p.openings, p.staggered_hours, p.remote, p.full_time, list(p.suitable_categories),
         p.min_grade, list(p.minimum_scores), p.monthly_wage_fen, uow.caller.subject])
    return _post(row)


async def get_post(uow: UnitOfWork, post_id: str) -> PostRow | None:
    row = await uow.fetchone(f"SELECT {_POST} FROM posts WHERE post_id = %s", [post_id])
    return _post(row) if row else None


# --- matching ---------------------------------------------------------------------------------
def _fixed_hours(column: str = "grade") -> str:
    points = ",".join(str(m.fixed_hours_points(g)) for g in range(1, 5))
    return f"coalesce(('{{{points}}}'::int[])[{column}], 0)"


def _assessment_sql() -> str:
    return f"(CASE WHEN assessed THEN (total_score * {m.ASSESSMENT} + 50) / 100 ELSE 0 END)"


def candidate_points(post: PostSpec) -> tuple[str, list[Any], bool]:
    """matching.explain's score of each candidate row for this post, as SQL, and whether the
    location's points are the same for every candidate. Factors that are the same for every
    candidate who passes the hard requirements are a constant."""
    constant = m.DISABILITY if post.suitable_categories else m.DISABILITY_ANY
    terms = [_assessment_sql(), f"(CASE WHEN wants_work THEN {m.WANTS_WORK} ELSE 0 END)"]
    params: list[Any] = []
    if post.track:
        terms.append(f"(CASE WHEN track = %s THEN {m.TRACK} ELSE 0 END)")
        params.append(post.track)
    else:
        constant += m.TRACK_ANY
    if post.flexible:
        constant += m.FLEXIBILITY
    else:
        terms.append(_fixed_hours())
    if post.remote:
        return f"{constant + m.LOCATION} + " + " + ".join(terms), params, True
    # every candidate shares at least the catchment's levels with the post
    floor = len(m.segments(m.catchment(post.jurisdiction_path)))
    deepest = min(len(m.segments(post.jurisdiction_path)), max(m.LOCATION_BY_SHARED))
    cases = []
    for depth in range(deepest, floor, -1):
        cases.append(f"WHEN jurisdiction_path LIKE %s THEN {m.LOCATION_BY_SHARED.get(depth, 0)}")
        params.append(m.prefix(post.jurisdiction_path, depth) + "%")
    constant += m.LOCATION_BY_SHARED.get(floor, 0)
    if cases:
        terms.append(f"(CASE {' '.join(cases)} ELSE 0 END)")
    return f"{constant} + " + " + ".join(terms), params, not cases


def candidate_filter(post: PostSpec, subtrees: list[str], born: tuple[date, date]
                     ) -> tuple[str, list[Any]]:
    where, params = in_subtrees(subtrees, "jurisdiction_path")
    conditions = [where, "NOT archived", "birth_date > %s", "birth_date <= %s",
                  "grade >= %s::smallint"]
    params += [born[0], born[1], post.min_grade]
    if post.full_time:
        conditions.append("NOT placed_full_time")
    if post.suitable_categories:
        conditions.append("category = ANY(%s::smallint[])")
        params.append(list(post.suitable_categories))
    if post.minimum_scores:
        conditions.append("assessed")
        for i, least in enumerate(post.minimum_scores, start=1):
            if least:
                conditions.append(f"scores[{i}] >= %s::smallint")
                params.append(least)
    return " AND ".join(conditions), params


_BEST = "ORDER BY points DESC, total DESC, person_id LIMIT %s"


def candidates_query(post: PostSpec, subtrees: list[str], born: tuple[date, date], limit: int
                     ) -> tuple[str, list[Any]]:
    """Rows: the candidate's columns, its points, and how many candidates passed. Ties go to
    the higher assessment total, then the person id.

    In a street (a few thousand candidates) every one who passes is scored and the best kept.
    Wider (a remote or city-wide post, a city's jurisdictions) the location's points are the
    same for all, so within one (category, track, grade, wants_work) the points only grow with
    total_score: the best `limit` of each such group are read in the order of the rank index
    (a few thousand index tuples, not every candidate) and the best of those kept."""
    points, params, same_place = candidate_points(post)
    where, where_params = candidate_filter(post, subtrees, born)
    wide = same_place and min(len(m.segments(s)) for s in subtrees) < m.CATCHMENT_DEPTH
    if wide:
        groups = ("unnest(%s::smallint[]) AS k(k_category), unnest(%s::smallint[]) AS t(k_track),"
                  " unnest(%s::smallint[]) AS g(k_grade), unnest(%s::boolean[]) AS w(k_wants)")
        best = (f"SELECT x.* FROM {groups} CROSS JOIN LATERAL (SELECT person_id, total_score "
                f"AS total, {points} AS points FROM candidates WHERE category = k_category AND "
                f"track = k_track AND grade = k_grade AND wants_work = k_wants AND {where} "
                f"ORDER BY total_score DESC, person_id LIMIT %s) x {_BEST}")
        params = [list(post.suitable_categories or m.CATEGORY_NAMES), [0, *TRACK_NAMES],
                  list(range(post.min_grade, 5)), [True, False], *params, *where_params, limit,
                  limit]
    else:
        best = (f"SELECT person_id, total_score AS total, {points} AS points FROM candidates "
                f"WHERE {where} {_BEST}")
        params = [*params, *where_params, limit]
    return (f"SELECT {CANDIDATE_COLUMNS}, b.points, (SELECT count(*) FROM candidates WHERE "
            f"{where}) FROM ({best}) b JOIN candidates USING (person_id) "
            "ORDER BY b.points DESC, b.total DESC, b.person_id", [*where_params, *params])


async def match_candidates(uow: UnitOfWork, post: PostSpec, subtrees: list[str],
                           born: tuple[date, date], limit: int
                           ) -> tuple[list[tuple[CandidateRow, int]], int]:
    """The best `limit` candidates with their points (best first), and how many passed."""
    rows = await uow.fetchall(*candidates_query(post, subtrees, born, limit))
    considered = int(rows[0][-1]) if rows else 0
    return [(CandidateRow(*r[:-2]), int(r[-2])) for r in rows], considered


def post_points(c: CandidateRow) -> tuple[str, list[Any]]:
    """matching.explain's score of each post row for this candidate, as SQL."""
    constant = (m.assessment_points(c.total_score) if c.assessed else 0) + (
        m.WANTS_WORK if c.wants_work else 0)
    location, params = [f"WHEN remote THEN {m.LOCATION}"], []
    for depth in range(min(len(m.segments(c.jurisdiction_path)), max(m.LOCATION_BY_SHARED)),
                       min(m.LOCATION_BY_SHARED) - 1, -1):
        location.append(f"WHEN jurisdiction_path LIKE %s THEN {m.LOCATION_BY_SHARED[depth]}")
        params.append(m.prefix(c.jurisdiction_path, depth) + "%")
    return (f"{constant} + (CASE WHEN track = 0 THEN {m.TRACK_ANY} WHEN track = %s THEN "
            f"{m.TRACK} ELSE 0 END) + (CASE WHEN cardinality(suitable_categories) > 0 THEN "
            f"{m.DISABILITY} ELSE {m.DISABILITY_ANY} END) + (CASE {' '.join(location)} ELSE 0 "
            f"END) + (CASE WHEN staggered_hours OR remote OR kind = {m.HOME_BASED} THEN "
            f"{m.FLEXIBILITY} ELSE {m.fixed_hours_points(c.grade)} END)"), [c.track, *params]


def posts_query(c: CandidateRow, scopes: list[str], limit: int) -> tuple[str, list[Any]]:
    """Rows: the post's columns and its points for this candidate."""
    points, params = post_points(c)
    scope, scope_params = in_subtrees(scopes, "jurisdiction_path")
    depth = len(m.segments(c.jurisdiction_path))
    above = [m.prefix(c.jurisdiction_path, d) for d in range(1, min(depth, m.CATCHMENT_DEPTH))]
    near, near_params = (in_subtrees([m.prefix(c.jurisdiction_path, m.CATCHMENT_DEPTH)],
                                     "jurisdiction_path")
                         if depth >= m.CATCHMENT_DEPTH else ("false", []))
    conditions = [scope, "open", "filled < openings",
                  f"(remote OR jurisdiction_path = ANY(%s::text[]) OR {near})",
                  "(cardinality(suitable_categories) = 0 OR %s::smallint = ANY("
                  "suitable_categories))", "min_grade <= %s::smallint"]
    where_params = [*scope_params, above, *near_params, c.category, c.grade]
    if c.placed_full_time:
        conditions.append("NOT full_time")
    if c.assessed:
        checks = " AND ".join(f"minimum_scores[{i}] <= %s::smallint"
                              for i in range(1, len(c.scores) + 1))
        conditions.append(f"(cardinality(minimum_scores) = 0 OR ({checks or 'false'}))")
        where_params += list(c.scores)
    else:
        conditions.append("cardinality(minimum_scores) = 0")
    return (f"SELECT {_POST}, {points} AS points FROM posts WHERE {' AND '.join(conditions)} "
            "ORDER BY points DESC, monthly_wage_fen DESC, post_id LIMIT %s",
            [*params, *where_params, limit])


async def match_posts(uow: UnitOfWork, c: CandidateRow, scopes: list[str], limit: int
                      ) -> list[tuple[PostRow, int]]:
    """The open posts whose hard requirements the candidate meets, best first, with points."""
    rows = await uow.fetchall(*posts_query(c, scopes, limit))
    return [(_post(r), int(r[-1])) for r in rows]
