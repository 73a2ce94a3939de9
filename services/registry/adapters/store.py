"""SQL for the registry's tables. Every function runs inside the caller's unit of work, so
row-level security limits it to the caller's jurisdictions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from registry.domain.contact import Guardian, Liaison
from registry.domain.household import Household, Jurisdiction
from registry.domain.person import Need, Person
from runtime.auth import SYSTEM
from runtime.db import UnitOfWork

# ---------------------------------------------------------------- jurisdictions

_JUR = "code, name, level, coalesce(parent_code, ''), path, minimum_living_standard_fen"


async def get_jurisdiction(uow: UnitOfWork, code: str) -> Jurisdiction | None:
    row = await uow.fetchone(f"SELECT {_JUR} FROM jurisdictions WHERE code = %s", [code])
    return Jurisdiction(*row) if row else None


async def insert_jurisdiction(uow: UnitOfWork, j: Jurisdiction) -> bool:
    row = await uow.fetchone(
        "INSERT INTO jurisdictions (code, name, level, parent_code, path, "
        "minimum_living_standard_fen) VALUES (%s, %s, %s, %s, %s, %s) "
        "ON CONFLICT DO NOTHING RETURNING 1",
        [j.code, j.name, j.level, j.parent_code or None, j.path, j.minimum_living_standard_fen])
    return row is not None


async def child_jurisdictions(uow: UnitOfWork, parent_code: str) -> list[Jurisdiction]:
    rows = await uow.fetchall(f"SELECT {_JUR} FROM jurisdictions WHERE parent_code = %s "
                              "ORDER BY code", [parent_code])
    return [Jurisdiction(*r) for r in rows]


async def jurisdictions_at(uow: UnitOfWork, paths: tuple[str, ...]) -> list[Jurisdiction]:
    rows = await uow.fetchall(f"SELECT {_JUR} FROM jurisdictions WHERE path = ANY(%s) "
                              "ORDER BY path", [list(paths)])
    return [Jurisdiction(*r) for r in rows]


# ---------------------------------------------------------------- households

_HH = "household_id::text, grid_code, jurisdiction_path, address, monthly_income_fen, version"


async def get_household(uow: UnitOfWork, household_id: str, lock: bool = False
                        ) -> Household | None:
    row = await uow.fetchone(f"SELECT {_HH} FROM households WHERE household_id = %s"
                             + (" FOR UPDATE" if lock else ""), [household_id])
    return Household(*row) if row else None


async def insert_household(uow: UnitOfWork, h: Household) -> None:
    await uow.execute(
        "INSERT INTO households (household_id, grid_code, jurisdiction_path, address, "
        "monthly_income_fen) VALUES (%s, %s, %s, %s, %s)",
        [h.household_id, h.grid_code, h.jurisdiction_path, h.address, h.monthly_income_fen])


async def update_household(uow: UnitOfWork, h: Household) -> None:
    await uow.execute(
        "UPDATE households SET address = %s, monthly_income_fen = %s, version = %s, "
        "updated_at = now() WHERE household_id = %s",
        [h.address, h.monthly_income_fen, h.version, h.household_id])


async def household_members(uow: UnitOfWork, household_id: str) -> list[str]:
    rows = await uow.fetchall("SELECT person_id::text FROM persons WHERE household_id = %s "
                              "AND status = 1 ORDER BY created_at, person_id", [household_id])
    return [r[0] for r in rows]


# ---------------------------------------------------------------- persons

@dataclass
class PersonView:
    """A person with what the record shows from the household and the service history."""

    person: Person
    household_income_fen: int
    address: str
    grid_code: str
    service_history: list[tuple[datetime, str, str, str]]


_P = ("p.person_id::text, p.name, p.resident_id, p.category, p.grade, p.certified, "
      "coalesce(p.certificate_number, ''), p.household_id::text, p.jurisdiction_path, p.phone, "
      "p.preferred_channel, p.guardian, p.liaison, p.living_situation, p.priority_groups, "
      "p.needs, p.sex, p.birth_date, p.status, p.archive_reason, p.last_verified_at, "
      "p.created_at, p.updated_at, p.version, h.monthly_income_fen, h.address, h.grid_code")
_FROM = "FROM persons p JOIN households h ON h.household_id = p.household_id"


def _person(row: Any) -> PersonView:
    guardian = Guardian(**row[11]) if row[11] else None
    liaison = Liaison(**row[12]) if row[12] else None
    person = Person(
        person_id=row[0], name=row[1], resident_id=row[2], category=row[3], grade=row[4],
        certified=row[5], certificate_number=row[6], household_id=row[7],
        jurisdiction_path=row[8], phone=row[9], preferred_channel=row[10], guardian=guardian,
        liaison=liaison, living_situation=row[13], priority_groups=list(row[14]),
        needs=[Need(**n) for n in row[15]], sex=row[16], birth_date=row[17], status=row[18],
        archive_reason=row[19], last_verified_at=row[20], created_at=row[21],
        updated_at=row[22], version=row[23])
    return PersonView(person, row[24], row[25], row[26], [])


async def get_person(uow: UnitOfWork, person_id: str, lock: bool = False,
                     history: bool = True) -> PersonView | None:
    row = await uow.fetchone(f"SELECT {_P} {_FROM} WHERE p.person_id = %s"
                             + (" FOR UPDATE OF p" if lock else ""), [person_id])
    if row is None:
        return None
    view = _person(row)
    if history:
        view.service_history = [tuple(r) for r in await uow.fetchall(  # type: ignore[misc]
            "SELECT occurred_at, kind, description, provider FROM service_records "
            "WHERE person_id = %s ORDER BY occurred_at DESC LIMIT 20", [person_id])]
    return view


async def person_jurisdiction_anywhere(uow: UnitOfWork, person_id: str) -> str | None:
    """Where a person is filed, looked up outside the caller's scope (the path only), so that a
    person outside it is reported as PERMISSION_DENIED rather than NOT_FOUND."""
    await uow.with_scope(SYSTEM)
    try:
        row = await uow.fetchone("SELECT jurisdiction_path FROM persons WHERE person_id = %s",
                                 [person_id])
    finally:
        await uow.with_scope(uow.caller)
    return row[0] if row else None


async def household_jurisdiction_anywhere(uow: UnitOfWork, household_id: str) -> str | None:
    await uow.with_scope(SYSTEM)
    try:
        row = await uow.fetchone(
            "SELECT jurisdiction_path FROM households WHERE household_id = %s", [household_id])
    finally:
        await uow.with_scope(uow.caller)
    return row[0] if row else None


def _person_values(p: Person) -> list[Any]:
    return [p.name, p.resident_id, p.sex, p.birth_date, p.category, p.grade, p.certified,
            p.certificate_number or None, p.household_id, p.jurisdiction_path, p.phone,
            p.preferred_channel, Jsonb(p.guardian.__dict__) if p.guardian else None,
            Jsonb(p.liaison.__dict__ if p.liaison else {}), p.living_situation,
            p.priority_groups, Jsonb([n.__dict__ for n in p.needs]), p.need_codes, p.status,
            p.archive_reason, p.last_verified_at, p.version]


_COLUMNS = ("name, resident_id, sex, birth_date, category, grade, certified, certificate_number, "
            "household_id, jurisdiction_path, phone, preferred_channel, guardian, liaison, "
            "living_situation, priority_groups, needs, need_codes, status, archive_reason, "
            "last_verified_at, version")


async def insert_person(uow: UnitOfWork, p: Person) -> datetime:
    row = await uow.fetchone(
        f"INSERT INTO persons (person_id, {_COLUMNS}) VALUES ({', '.join(['%s'] * 23)}) "
        "RETURNING created_at", [p.person_id, *_person_values(p)])
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


async def update_person(uow: UnitOfWork, p: Person, archived: bool = False) -> datetime:
    assignments = ", ".join(f"{c.strip()} = %s" for c in _COLUMNS.split(","))
    row = await uow.fetchone(
        f"UPDATE persons SET {assignments}, updated_at = now()"
        + (", archived_at = now()" if archived else "")
        + " WHERE person_id = %s RETURNING updated_at", [*_person_values(p), p.person_id])
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


async def add_service_record(uow: UnitOfWork, p: Person, occurred_at: datetime, kind: str,
                             description: str, provider: str) -> None:
    await uow.execute(
        "INSERT INTO service_records (person_id, jurisdiction_path, occurred_at, kind, "
        "description, provider) VALUES (%s, %s, %s, %s, %s, %s)",
        [p.person_id, p.jurisdiction_path, occurred_at, kind, description, provider])


# ---------------------------------------------------------------- lists and figures

def in_subtrees(paths: list[str], column: str = "p.jurisdiction_path") -> tuple[str, list[Any]]:
    """SQL for "under one of these paths" that can use the path index.

    Under FORCE ROW LEVEL SECURITY PostgreSQL evaluates the policy before any condition that is
    not leakproof, so a LIKE here would turn every list into a sequential scan. The pattern
    comparison operators ~>=~ and ~<~ are leakproof and match the text_pattern_ops index: a path
    ends with '/', and '0' is the character after '/', so [path, path[:-1] + '0') is the subtree.
    """
    clause = " OR ".join(f"({column} ~>=~ %s AND {column} ~<~ %s)" for _ in paths)
    params: list[Any] = []
    for path in paths:
        params += [path, path[:-1] + "0"]
    return f"({clause})", params


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


def _where(f: PersonFilter) -> tuple[str, list[Any]]:
    subtree, params = in_subtrees(f.paths)
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
    subtree, params = in_subtrees(paths)
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
