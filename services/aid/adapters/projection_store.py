"""SQL for the projection of registry persons and households (moves forward by version only)."""

from __future__ import annotations

from dataclasses import dataclass

from cdsp.events.v1 import registry_pb2 as ev
from runtime.db import UnitOfWork
from runtime.sql import filed_under


@dataclass(frozen=True)
class HouseholdRow:
    household_id: str
    jurisdiction_path: str
    monthly_income_fen: int


async def upsert_person(uow: UnitOfWork, p: ev.PersonSnapshot, version: int) -> bool:
    """Applies a snapshot newer than what is stored; returns False for a stale one."""
    row = await uow.fetchone(
        "INSERT INTO persons AS t (person_id, household_id, jurisdiction_path, name, category, "
        "grade, phone, guardian_phone, liaison_id, living_alone, priority_groups, archived, "
        "version) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (person_id) DO UPDATE SET household_id = EXCLUDED.household_id, "
        "jurisdiction_path = EXCLUDED.jurisdiction_path, name = EXCLUDED.name, "
        "category = EXCLUDED.category, grade = EXCLUDED.grade, phone = EXCLUDED.phone, "
        "guardian_phone = EXCLUDED.guardian_phone, liaison_id = EXCLUDED.liaison_id, "
        "living_alone = EXCLUDED.living_alone, priority_groups = EXCLUDED.priority_groups, "
        "archived = EXCLUDED.archived, version = EXCLUDED.version, updated_at = now() "
        "WHERE t.version < EXCLUDED.version RETURNING 1",
        [p.person_id, p.household_id, p.jurisdiction_path, p.name, p.category, p.grade, p.phone,
         p.guardian_phone, p.liaison_id, p.living_alone, list(p.priority_groups), p.archived,
         version])
    # A member's snapshot tells where its household is before HouseholdChanged may arrive.
    await uow.execute(
        "INSERT INTO households (household_id, jurisdiction_path, monthly_income_fen, version) "
        "VALUES (%s, %s, %s, 0) ON CONFLICT (household_id) DO NOTHING",
        [p.household_id, p.jurisdiction_path, p.household_monthly_income_fen])
    return row is not None


async def archive_person(uow: UnitOfWork, person_id: str, version: int) -> bool:
    row = await uow.fetchone("UPDATE persons SET archived = true, version = %s, updated_at = now()"
                             " WHERE person_id = %s AND version < %s RETURNING 1",
                             [version, person_id, version])
    return row is not None


async def upsert_household(uow: UnitOfWork, h: ev.HouseholdChanged, version: int) -> bool:
    row = await uow.fetchone(
        "INSERT INTO households AS t (household_id, jurisdiction_path, monthly_income_fen, "
        "version) VALUES (%s, %s, %s, %s) ON CONFLICT (household_id) DO UPDATE SET "
        "jurisdiction_path = EXCLUDED.jurisdiction_path, "
        "monthly_income_fen = EXCLUDED.monthly_income_fen, version = EXCLUDED.version, "
        "updated_at = now() WHERE t.version < EXCLUDED.version RETURNING 1",
        [h.household_id, h.jurisdiction_path, h.monthly_income_fen, version])
    return row is not None


async def upsert_households(uow: UnitOfWork, changes: list[tuple[ev.HouseholdChanged, int]]
                            ) -> list[HouseholdRow]:
    """Applies many household changes in one statement (newest version per household only) and
    returns the households whose income changed."""
    newest: dict[str, tuple[ev.HouseholdChanged, int]] = {}
    for change, version in changes:
        if version > newest.get(change.household_id, (change, -1))[1]:
            newest[change.household_id] = (change, version)
    items = list(newest.values())
    rows = await uow.fetchall(
        "WITH incoming AS (SELECT * FROM unnest(%s::uuid[], %s::text[], %s::bigint[], "
        "  %s::bigint[]) AS i(household_id, jurisdiction_path, income, version)), "
        "old AS (SELECT h.household_id, h.monthly_income_fen FROM households h "
        "  JOIN incoming USING (household_id) FOR UPDATE OF h), "
        "up AS (INSERT INTO households AS t (household_id, jurisdiction_path, "
        "  monthly_income_fen, version) SELECT household_id, jurisdiction_path, income, version "
        "  FROM incoming ON CONFLICT (household_id) DO UPDATE SET "
        "  jurisdiction_path = EXCLUDED.jurisdiction_path, "
        "  monthly_income_fen = EXCLUDED.monthly_income_fen, version = EXCLUDED.version, "
        "  updated_at = now() WHERE t.version < EXCLUDED.version "
        "  RETURNING t.household_id, t.jurisdiction_path, t.monthly_income_fen) "
        "SELECT up.household_id::text, up.jurisdiction_path, up.monthly_income_fen FROM up "
        "LEFT JOIN old USING (household_id) "
        "WHERE old.monthly_income_fen IS DISTINCT FROM up.monthly_income_fen",
        [[c.household_id for c, _ in items], [c.jurisdiction_path for c, _ in items],
         [c.monthly_income_fen for c, _ in items], [v for _, v in items]])
    return [HouseholdRow(*r) for r in rows]


async def get_household(uow: UnitOfWork, household_id: str, lock: bool = False
                        ) -> HouseholdRow | None:
    row = await uow.fetchone(
        "SELECT household_id::text, jurisdiction_path, monthly_income_fen FROM households "
        "WHERE household_id = %s" + (" FOR UPDATE" if lock else ""), [household_id])
    return HouseholdRow(*row) if row else None


async def household_members(uow: UnitOfWork, household_id: str) -> list[str]:
    rows = await uow.fetchall("SELECT person_id::text FROM persons WHERE household_id = %s "
                              "AND NOT archived ORDER BY person_id", [household_id])
    return [r[0] for r in rows]


async def person_path(uow: UnitOfWork, person_id: str) -> str | None:
    row = await uow.fetchone("SELECT jurisdiction_path FROM persons WHERE person_id = %s "
                             "AND NOT archived", [person_id])
    return row[0] if row else None


LOOKUPS = {("persons", "person_id"), ("households", "household_id"), ("aid_cases", "case_id"),
           ("service_requests", "request_id"), ("kit_loans", "loan_id")}


async def jurisdiction_anywhere(uow: UnitOfWork, table: str, key: str, value: str) -> str | None:
    """Where a row is filed, looked up outside the caller's scope (the path only), so a record
    outside it is reported as PERMISSION_DENIED rather than NOT_FOUND."""
    if (table, key) not in LOOKUPS:  # names go into the SQL: only these, never caller input
        raise ValueError(f"no lookup by {table}.{key}")
    return await filed_under(uow, table, key, value)
