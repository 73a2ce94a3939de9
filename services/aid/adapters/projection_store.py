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
    """Applies a snapshot newer than what is stored (an archive's snapshot too: it stays as a
    versioned tombstone that an older registration cannot overwrite); returns False for a stale
    one. A person whose path changed takes their open work along (`rehome_persons`)."""
    row = await uow.fetchone(
        "WITH old AS (SELECT jurisdiction_path FROM persons WHERE person_id = %(id)s), "
        "up AS (INSERT INTO persons AS t (person_id, household_id, jurisdiction_path, "
        "  category, grade, liaison_id, living_alone, priority_groups, archived, version) "
        "  VALUES (%(id)s, %(household)s, %(path)s, %(category)s, %(grade)s, %(liaison)s, "
        "  %(alone)s, %(groups)s, %(archived)s, %(version)s) "
        "  ON CONFLICT (person_id) DO UPDATE SET household_id = EXCLUDED.household_id, "
        "  jurisdiction_path = EXCLUDED.jurisdiction_path, category = EXCLUDED.category, "
        "  grade = EXCLUDED.grade, liaison_id = EXCLUDED.liaison_id, "
        "  living_alone = EXCLUDED.living_alone, priority_groups = EXCLUDED.priority_groups, "
        "  archived = EXCLUDED.archived, version = EXCLUDED.version, updated_at = now() "
        "  WHERE t.version < EXCLUDED.version RETURNING 1) "
        "SELECT EXISTS (SELECT 1 FROM up), (SELECT jurisdiction_path FROM old)",
        {"id": p.person_id, "household": p.household_id, "path": p.jurisdiction_path,
         "category": p.category, "grade": p.grade, "liaison": p.liaison_id,
         "alone": p.living_alone, "groups": list(p.priority_groups), "archived": p.archived,
         "version": version})
    # A member's snapshot tells where its household is before HouseholdChanged may arrive.
    await uow.execute(
        "INSERT INTO households (household_id, jurisdiction_path, monthly_income_fen, version) "
        "VALUES (%s, %s, %s, 0) ON CONFLICT (household_id) DO NOTHING",
        [p.household_id, p.jurisdiction_path, p.household_monthly_income_fen])
    assert row is not None
    applied, old_path = bool(row[0]), row[1]
    if applied and old_path is not None and old_path != p.jurisdiction_path:
        await rehome_persons(uow, [(p.person_id, p.jurisdiction_path)])
    return applied


async def archive_person(uow: UnitOfWork, person_id: str, version: int) -> bool:
    """For an archive event without its snapshot (published before archives carried one)."""
    row = await uow.fetchone("UPDATE persons SET archived = true, version = %s, updated_at = now()"
                             " WHERE person_id = %s AND version < %s RETURNING 1",
                             [version, person_id, version])
    return row is not None


async def rehome_persons(uow: UnitOfWork, moves: list[tuple[str, str]]) -> None:
    """Persons who moved take their open work to their new jurisdiction, in one statement: open
    service requests and sickbed schedules are re-filed there; open kit loans become visible
    there too (they stay with the lending grid's stock). What accounts for a place's own work
    stays where it happened: resolved requests (the grid team's 30-minute record), the relief
    ledger, kit movements and the sickbed visit log."""
    await uow.execute(
        "WITH moved AS (SELECT * FROM unnest(%s::uuid[], %s::text[]) AS m(person_id, path)), "
        "requests AS (UPDATE service_requests r SET jurisdiction_path = m.path FROM moved m "
        "  WHERE r.person_id = m.person_id AND r.status < 5 AND r.jurisdiction_path <> m.path "
        "  RETURNING 1), "
        "loans AS (UPDATE kit_loans l SET person_path = m.path FROM moved m "
        "  WHERE l.person_id = m.person_id AND l.returned_at IS NULL AND l.person_path <> m.path "
        "  RETURNING 1), "
        "sickbed AS (UPDATE sickbed_schedules s SET jurisdiction_path = m.path FROM moved m "
        "  WHERE s.person_id = m.person_id AND s.jurisdiction_path <> m.path RETURNING 1) "
        "SELECT (SELECT count(*) FROM requests), (SELECT count(*) FROM loans), "
        "(SELECT count(*) FROM sickbed)",
        [[m[0] for m in moves], [m[1] for m in moves]])


async def rehome_households(uow: UnitOfWork, moves: list[tuple[str, str]]) -> None:
    """Households that moved to another grid take their file along: hardship reports, aid cases
    and their required actions are re-filed under the new path (one statement for many
    households). A case's actions are updated from the case's own update, so each case row is
    locked before its actions, as the deadline scan and CompleteCaseAction lock them. The relief
    ledger stays where each grant was decided (append-only; the case keeps its total)."""
    if not moves:
        return
    await uow.execute(
        "WITH moved AS (SELECT * FROM unnest(%s::uuid[], %s::text[]) AS m(household_id, path)), "
        "reports AS (UPDATE hardship_reports r SET jurisdiction_path = m.path FROM moved m "
        "  WHERE r.household_id = m.household_id AND r.jurisdiction_path <> m.path RETURNING 1), "
        "cases AS (UPDATE aid_cases c SET jurisdiction_path = m.path FROM moved m "
        "  WHERE c.household_id = m.household_id AND c.jurisdiction_path <> m.path "
        "  RETURNING c.case_id, c.jurisdiction_path), "
        "actions AS (UPDATE case_actions a SET jurisdiction_path = c.jurisdiction_path "
        "  FROM cases c WHERE a.case_id = c.case_id RETURNING 1) "
        "SELECT (SELECT count(*) FROM reports), (SELECT count(*) FROM cases), "
        "(SELECT count(*) FROM actions)",
        [[m[0] for m in moves], [m[1] for m in moves]])


async def upsert_households(uow: UnitOfWork, changes: list[tuple[ev.HouseholdChanged, int]]
                            ) -> list[HouseholdRow]:
    """Applies many household changes in one statement (newest version per household only),
    re-homes the households that moved, and returns the households whose income changed."""
    newest: dict[str, tuple[ev.HouseholdChanged, int]] = {}
    for change, version in changes:
        if version > newest.get(change.household_id, (change, -1))[1]:
            newest[change.household_id] = (change, version)
    items = list(newest.values())
    rows = await uow.fetchall(
        "WITH incoming AS (SELECT * FROM unnest(%s::uuid[], %s::text[], %s::bigint[], "
        "  %s::bigint[]) AS i(household_id, jurisdiction_path, income, version)), "
        "old AS (SELECT h.household_id, h.monthly_income_fen, h.jurisdiction_path "
        "  FROM households h JOIN incoming USING (household_id)), "
        "up AS (INSERT INTO households AS t (household_id, jurisdiction_path, "
        "  monthly_income_fen, version) SELECT household_id, jurisdiction_path, income, version "
        "  FROM incoming ON CONFLICT (household_id) DO UPDATE SET "
        "  jurisdiction_path = EXCLUDED.jurisdiction_path, "
        "  monthly_income_fen = EXCLUDED.monthly_income_fen, version = EXCLUDED.version, "
        "  updated_at = now() WHERE t.version < EXCLUDED.version "
        "  RETURNING t.household_id, t.jurisdiction_path, t.monthly_income_fen) "
        "SELECT up.household_id::text, up.jurisdiction_path, up.monthly_income_fen, "
        "old.monthly_income_fen IS DISTINCT FROM up.monthly_income_fen, "
        "old.jurisdiction_path IS NOT NULL AND old.jurisdiction_path <> up.jurisdiction_path "
        "FROM up LEFT JOIN old USING (household_id)",
        [[c.household_id for c, _ in items], [c.jurisdiction_path for c, _ in items],
         [c.monthly_income_fen for c, _ in items], [v for _, v in items]])
    await rehome_households(uow, [(r[0], r[1]) for r in rows if r[4]])
    return [HouseholdRow(r[0], r[1], r[2]) for r in rows if r[3]]


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
