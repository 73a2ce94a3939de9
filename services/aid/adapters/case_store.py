"""SQL for hardship reports and aid cases."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aid.adapters import action_store
from aid.domain.case_actions import CaseAction
from runtime.db import UnitOfWork
from runtime.sql import in_subtrees

OPEN, RESOLVED = 1, 2


@dataclass
class Case:
    case_id: str
    household_id: str
    jurisdiction_path: str
    level: int
    status: int
    actions: list[CaseAction] = field(default_factory=list)
    outcome: str = ""
    opened_at: datetime | None = None
    resolved_at: datetime | None = None
    version: int = 1


_CASE = ("case_id::text, household_id::text, jurisdiction_path, level, status, "
         "outcome, opened_at, resolved_at, version")


def _case(row: Any, actions: list[CaseAction]) -> Case:
    case_id, household_id, path, level, status, outcome, opened_at, resolved_at, version = row
    return Case(case_id, household_id, path, level, status, actions, outcome, opened_at,
                resolved_at, version)


async def _with_actions(uow: UnitOfWork, rows: list[Any]) -> list[Case]:
    actions = await action_store.actions_of(uow, [r[0] for r in rows])
    return [_case(r, actions[r[0]]) for r in rows]


async def insert_report(uow: UnitOfWork, report_id: str, household_id: str, path: str,
                        kind: int, amount_fen: int, income_fen: int, level: int, reason: str,
                        description: str, occurred_at: datetime) -> None:
    await uow.execute(
        "INSERT INTO hardship_reports (report_id, household_id, jurisdiction_path, kind, "
        "amount_fen, income_fen, level, reason, description, occurred_at, reported_by) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [report_id, household_id, path, kind, amount_fen, income_fen, level, reason,
         description, occurred_at, uow.caller.subject])


async def recent_medical_spending(uow: UnitOfWork, household_id: str, since: datetime
                                  ) -> int | None:
    """The household's latest monthly medical spending reported since `since`, if any."""
    row = await uow.fetchone(
        "SELECT amount_fen FROM hardship_reports WHERE household_id = %s AND kind = 1 "
        "AND occurred_at >= %s ORDER BY occurred_at DESC, reported_at DESC LIMIT 1",
        [household_id, since])
    return int(row[0]) if row else None


async def recent_medical_spendings(uow: UnitOfWork, household_ids: list[str], since: datetime
                                   ) -> dict[str, int]:
    """The latest monthly medical spending reported since `since`, for each household that has
    one (one query for many households)."""
    rows = await uow.fetchall(
        "SELECT DISTINCT ON (household_id) household_id::text, amount_fen FROM hardship_reports "
        "WHERE household_id = ANY(%s::uuid[]) AND kind = 1 AND occurred_at >= %s "
        "ORDER BY household_id, occurred_at DESC, reported_at DESC", [household_ids, since])
    return {r[0]: int(r[1]) for r in rows}


async def open_case_of(uow: UnitOfWork, household_id: str) -> Case | None:
    row = await uow.fetchone(f"SELECT {_CASE} FROM aid_cases WHERE household_id = %s "
                             "AND status = 1 FOR UPDATE", [household_id])
    return (await _with_actions(uow, [row]))[0] if row else None


async def open_cases_by_level(uow: UnitOfWork) -> dict[int, int]:
    """Open cases per level in the caller's jurisdictions."""
    rows = await uow.fetchall("SELECT level, count(*) FROM aid_cases WHERE status = 1 "
                              "GROUP BY level")
    return {int(level): int(n) for level, n in rows}


async def get_case(uow: UnitOfWork, case_id: str, lock: bool = False) -> Case | None:
    """The case with its actions (read after the case row is locked, when `lock`)."""
    row = await uow.fetchone(f"SELECT {_CASE} FROM aid_cases WHERE case_id = %s"
                             + (" FOR UPDATE" if lock else ""), [case_id])
    return (await _with_actions(uow, [row]))[0] if row else None


async def insert_case(uow: UnitOfWork, case: Case) -> Case:
    row = await uow.fetchone(
        "INSERT INTO aid_cases (case_id, household_id, jurisdiction_path, level) "
        f"VALUES (%s, %s, %s, %s) RETURNING {_CASE}",
        [case.case_id, case.household_id, case.jurisdiction_path, case.level])
    assert row is not None
    await action_store.add_actions(uow, case.case_id, case.jurisdiction_path, case.actions)
    return _case(row, case.actions)


async def update_case(uow: UnitOfWork, case: Case, new_actions: list[CaseAction] | None = None
                      ) -> Case:
    """Writes level, status and outcome, adds `new_actions` after the case's actions, and moves
    the version on by one (a completion of an action is written by action_store)."""
    row = await uow.fetchone(
        "UPDATE aid_cases SET level = %s, status = %s, outcome = %s, "
        "resolved_at = CASE WHEN %s = 2 THEN now() ELSE resolved_at END, version = version + 1 "
        f"WHERE case_id = %s RETURNING {_CASE}",
        [case.level, case.status, case.outcome, case.status, case.case_id])
    assert row is not None
    await action_store.add_actions(uow, case.case_id, case.jurisdiction_path, new_actions or [])
    return _case(row, case.actions + (new_actions or []))


async def list_cases(uow: UnitOfWork, paths: list[str], min_level: int, include_resolved: bool,
                     after: str, limit: int) -> list[Case]:
    subtree, params = in_subtrees(paths, "jurisdiction_path")
    where: list[str] = [subtree, "level >= %s"]
    params.append(min_level)
    if not include_resolved:
        where.append("status = 1")
    if after:
        where.append("case_id > %s")
        params.append(after)
    rows: list[Any] = await uow.fetchall(
        f"SELECT {_CASE} FROM aid_cases WHERE {' AND '.join(where)} ORDER BY case_id LIMIT %s",
        [*params, limit])
    return await _with_actions(uow, rows)
