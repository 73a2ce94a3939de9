"""SQL for the required actions of aid cases and their deadline scan."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aid.domain.case_actions import CaseAction
from runtime.db import UnitOfWork

_ACTION = "action, due_at, completed_at, completed_by, note, breached"


async def add_actions(uow: UnitOfWork, case_id: str, path: str, actions: list[CaseAction]
                      ) -> None:
    """Adds actions to a case after the ones it has (a raised case keeps its earlier ones)."""
    if not actions:
        return
    await uow.execute(
        "INSERT INTO case_actions (case_id, action, position, jurisdiction_path, due_at) "
        "SELECT %s, action, (SELECT coalesce(max(position), 0) FROM case_actions "
        "                    WHERE case_id = %s) + n, %s, due_at "
        "FROM unnest(%s::text[], %s::timestamptz[]) WITH ORDINALITY AS a(action, due_at, n)",
        [case_id, case_id, path, [a.action for a in actions], [a.due_at for a in actions]])


async def actions_of(uow: UnitOfWork, case_ids: list[str]) -> dict[str, list[CaseAction]]:
    """The actions of each case, in the order the case came to require them."""
    rows: list[Any] = await uow.fetchall(
        f"SELECT case_id::text, {_ACTION} FROM case_actions WHERE case_id = ANY(%s::uuid[]) "
        "ORDER BY case_id, position", [case_ids])
    found: dict[str, list[CaseAction]] = {case_id: [] for case_id in case_ids}
    for case_id, *values in rows:
        found[case_id].append(CaseAction(*values))
    return found


async def save_completion(uow: UnitOfWork, case_id: str, a: CaseAction) -> None:
    await uow.execute(
        "UPDATE case_actions SET completed_at = %s, completed_by = %s, note = %s, breached = %s "
        "WHERE case_id = %s AND action = %s",
        [a.completed_at, a.completed_by, a.note, a.breached, case_id, a.action])


async def close_actions(uow: UnitOfWork, case_id: str) -> None:
    """The case is resolved: its open actions leave the deadline scan."""
    await uow.execute("UPDATE case_actions SET case_resolved = true WHERE case_id = %s",
                      [case_id])


@dataclass(frozen=True)
class Breach:
    case_id: str
    household_id: str
    jurisdiction_path: str
    action: str
    due_at: datetime
    version: int  # the case's version this breach is announced with


_OPEN = "completed_at IS NULL AND NOT breached AND NOT case_resolved"


async def mark_breached(uow: UnitOfWork, now: datetime, limit: int) -> list[Breach]:
    """Marks the open actions of up to `limit` cases whose due time passed before `now`, and
    moves each such case's version on by one per action marked.

    Safe on several replicas at once, and never in a deadlock with a completion: the case rows
    are locked first (as a completion locks its case before its action), SKIP LOCKED leaves a
    case another scan or a completion holds to that one, and the action's WHERE is checked again
    once its case is locked, so an action is never marked (nor announced) twice."""
    cases = [r[0] for r in await uow.fetchall(
        "SELECT case_id FROM aid_cases WHERE case_id IN (SELECT DISTINCT case_id FROM "
        f"  (SELECT case_id FROM case_actions WHERE {_OPEN} AND due_at < %s ORDER BY due_at "
        "   LIMIT %s) due) "
        "ORDER BY case_id FOR UPDATE SKIP LOCKED", [now, limit])]
    if not cases:
        return []
    marked: list[Any] = await uow.fetchall(
        f"UPDATE case_actions SET breached = true WHERE case_id = ANY(%s) AND {_OPEN} "
        "AND due_at < %s RETURNING case_id::text, action, due_at", [cases, now])
    marked.sort(key=lambda r: (r[0], r[2], r[1]))
    per_case = Counter(case_id for case_id, _, _ in marked)
    rows = await uow.fetchall(
        "UPDATE aid_cases c SET version = c.version + m.n FROM "
        "  unnest(%s::uuid[], %s::bigint[]) AS m(case_id, n) WHERE c.case_id = m.case_id "
        "RETURNING c.case_id::text, c.household_id::text, c.jurisdiction_path, c.version",
        [list(per_case), list(per_case.values())])
    cases_after = {r[0]: r for r in rows}
    breaches: list[Breach] = []
    seen: Counter[str] = Counter()
    for case_id, action, due_at in marked:
        _, household_id, path, version = cases_after[case_id]
        seen[case_id] += 1
        first = version - per_case[case_id]  # the version before this scan
        breaches.append(Breach(case_id, household_id, path, action, due_at,
                               first + seen[case_id]))
    return breaches
