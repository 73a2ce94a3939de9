"""SQL for lists and figures over person records: filters, cursor pages, overdue checks,
certificates due, counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from registry.adapters.person_store import _FROM, _P, PersonView, _person
from runtime.db import UnitOfWork
from runtime.sql import in_subtrees

# ---------------------------------------------------------------- lists and figures

@dataclass
class PersonFilter:
    paths: list[str]
    category: int = 0
    grade: int = 0
    priority_group: str = ""
    certified: bool | None = None
    living_alone: bool | None = None
    need_code: str = ""
    include_archived: bool = False
    # A search: part of a name (name_part), or a whole resident ID's blind index.
    name_part: str = ""
    resident_id_index: bytes | None = None


def like_pattern(part: str) -> str:
    """An ILIKE pattern matching `part` anywhere, its own % and _ (and \\) taken literally."""
    escaped = part.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(f: PersonFilter) -> tuple[str, list[Any]]:
    subtree, params = in_subtrees(f.paths, "p.jurisdiction_path")
    clauses = [subtree]
    if not f.include_archived:
        clauses.append("p.status = 1")
    if f.category:
        clauses.append("p.category = %s")
        params.append(f.category)
    if f.grade:
        clauses.append("p.grade = %s")
        params.append(f.grade)
    if f.priority_group:
        clauses.append("p.priority_groups @> ARRAY[%s]::text[]")
        params.append(f.priority_group)
    if f.certified is not None:
        clauses.append("p.certified = %s")
        params.append(f.certified)
    if f.living_alone is not None:
        clauses.append("(p.living_situation = 1) = %s")
        params.append(f.living_alone)
    if f.need_code:
        clauses.append("p.need_codes @> ARRAY[%s]::text[]")
        params.append(f.need_code)
    if f.resident_id_index is not None:
        clauses.append("p.resident_id_index = %s")
        params.append(f.resident_id_index)
    if f.name_part:
        clauses.append("p.name ILIKE %s ESCAPE '\\'")
        params.append(like_pattern(f.name_part))
    return " AND ".join(clauses), params


async def list_persons(uow: UnitOfWork, f: PersonFilter, after: str, limit: int
                       ) -> list[PersonView]:
    where, params = _where(f)
    if after:
        where += " AND p.person_id > %s"
        params.append(after)
    rows = await uow.fetchall(f"SELECT {_P} {_FROM} WHERE {where} ORDER BY p.person_id LIMIT %s",
                              [*params, limit])
    return [_person(r) for r in rows]


async def list_overdue(uow: UnitOfWork, paths: list[str], due_since: datetime, after: str,
                       limit: int) -> list[PersonView]:
    """Active persons not verified since `due_since` (the start of the month now due)."""
    subtree, params = in_subtrees(paths, "p.jurisdiction_path")
    params.append(due_since)
    extra = ""
    if after:
        extra = " AND p.person_id > %s"
        params.append(after)
    rows = await uow.fetchall(
        f"SELECT {_P} {_FROM} WHERE {subtree} AND p.status = 1 "
        f"AND (p.last_verified_at IS NULL OR p.last_verified_at < %s){extra} "
        "ORDER BY p.person_id LIMIT %s", [*params, limit])
    return [_person(r) for r in rows]


async def list_certification_due(uow: UnitOfWork, paths: list[str], born_by: date, after: str,
                                 limit: int) -> list[PersonView]:
    """Active uncertified persons born by `born_by` (3 or older: a certificate is due)."""
    subtree, params = in_subtrees(paths, "p.jurisdiction_path")
    params.append(born_by)
    extra = ""
    if after:
        extra = " AND p.person_id > %s"
        params.append(after)
    rows = await uow.fetchall(
        f"SELECT {_P} {_FROM} WHERE {subtree} AND p.status = 1 AND NOT p.certified "
        f"AND p.birth_date <= %s{extra} ORDER BY p.person_id LIMIT %s", [*params, limit])
    return [_person(r) for r in rows]


async def statistics(uow: UnitOfWork, paths: list[str]) -> dict[str, Any]:
    """Counts of active persons under `paths`: totals, and by category, grade and group."""
    subtree, params = in_subtrees(paths, "jurisdiction_path")
    scope = f"{subtree} AND status = 1"
    totals = await uow.fetchone(
        "SELECT count(*), count(*) FILTER (WHERE certified), "
        f"count(*) FILTER (WHERE living_situation = 1) FROM persons WHERE {scope}", params)
    assert totals is not None
    groups = {}
    for name, expr in (("category", "category"), ("grade", "grade"),
                       ("group", "unnest(priority_groups)")):
        groups[name] = [tuple(r) for r in await uow.fetchall(
            f"SELECT {expr} AS k, count(*) FROM persons WHERE {scope} GROUP BY k ORDER BY k",
            params)]
    return {"persons": totals[0], "certified": totals[1], "uncertified": totals[0] - totals[1],
            "living_alone": totals[2], "by_category": groups["category"],
            "by_grade": groups["grade"], "by_group": groups["group"]}
