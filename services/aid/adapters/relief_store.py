"""SQL for relief budgets, what each case has been granted, and the relief ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from runtime.db import UnitOfWork
from runtime.sql import in_subtrees


@dataclass(frozen=True)
class BudgetRow:
    community_path: str
    year: int
    total_fen: int
    granted_fen: int

    @property
    def remaining_fen(self) -> int:
        return self.total_fen - self.granted_fen


async def lock_budget(uow: UnitOfWork, community: str, year: int, default_total: int
                      ) -> BudgetRow:
    """The community's budget for the year, created with the default on first use, and locked
    until the transaction ends: concurrent grants to one community take turns."""
    await uow.execute("INSERT INTO relief_budgets (community_path, year, total_fen) "
                      "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING", [community, year,
                                                                     default_total])
    row = await uow.fetchone("SELECT community_path, year, total_fen, granted_fen "
                             "FROM relief_budgets WHERE community_path = %s AND year = %s "
                             "FOR UPDATE", [community, year])
    assert row is not None
    return BudgetRow(*row)


async def get_budget(uow: UnitOfWork, community: str, year: int) -> BudgetRow | None:
    row = await uow.fetchone("SELECT community_path, year, total_fen, granted_fen "
                             "FROM relief_budgets WHERE community_path = %s AND year = %s",
                             [community, year])
    return BudgetRow(*row) if row else None


async def spend(uow: UnitOfWork, community: str, year: int, amount_fen: int) -> None:
    await uow.execute("UPDATE relief_budgets SET granted_fen = granted_fen + %s "
                      "WHERE community_path = %s AND year = %s", [amount_fen, community, year])


async def case_granted(uow: UnitOfWork, case_id: str) -> int:
    """What the case has been granted so far (read with the case row locked by the caller)."""
    row = await uow.fetchone("SELECT relief_granted_fen FROM aid_cases WHERE case_id = %s",
                             [case_id])
    assert row is not None
    return int(row[0])


async def add_to_case(uow: UnitOfWork, case_id: str, amount_fen: int) -> int:
    """Adds a grant to the case's total (not a change of the case's own state: its version
    stays); returns the new total."""
    row = await uow.fetchone("UPDATE aid_cases SET relief_granted_fen = relief_granted_fen + %s "
                             "WHERE case_id = %s RETURNING relief_granted_fen",
                             [amount_fen, case_id])
    assert row is not None
    return int(row[0])


async def insert_decision(uow: UnitOfWork, values: dict[str, Any]) -> datetime:
    columns = ", ".join(values)
    row = await uow.fetchone(
        f"INSERT INTO relief_ledger ({columns}) VALUES ({', '.join(['%s'] * len(values))}) "
        "RETURNING decided_at", list(values.values()))
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


LEDGER_COLUMNS = ("decision_id", "decided_at", "community_path", "household_id", "case_id",
                  "granted", "amount_fen", "refusal_limit", "excess_fen", "cap_fen",
                  "budget_remaining_fen", "reason", "decided_by")


async def ledger_rows(uow: UnitOfWork, path: str, start: datetime, end: datetime
                      ) -> list[tuple[Any, ...]]:
    subtree, params = in_subtrees([path], "jurisdiction_path")
    rows = await uow.fetchall(
        f"SELECT {', '.join(LEDGER_COLUMNS)} FROM relief_ledger WHERE {subtree} "
        "AND decided_at >= %s AND decided_at < %s ORDER BY decided_at, decision_id",
        [*params, start, end])
    return [tuple(r) for r in rows]
