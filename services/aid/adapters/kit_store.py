"""SQL for emergency kits (stock, loans, movements) and home sickbed schedules and visits.

Every change of a stock row happens under its row lock (SELECT ... FOR UPDATE), so concurrent
lends and consumptions are serialised per item and never take the same last item twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from aid.domain.kits import SERIOUSLY_ILL, Stock
from runtime.auth import SYSTEM
from runtime.db import UnitOfWork
from runtime.sql import in_subtrees

_STOCK = ("grid_code, jurisdiction_path, item, lendable, total, available, low_stock_threshold, "
          "version")
_LOAN = ("loan_id::text, grid_code, item, person_id::text, jurisdiction_path, lent_at, "
         "returned_at")


@dataclass(frozen=True)
class Loan:
    loan_id: str
    grid_code: str
    item: str
    person_id: str
    jurisdiction_path: str
    lent_at: datetime
    returned_at: datetime | None = None


@dataclass(frozen=True)
class Schedule:
    person_id: str
    last_visit_at: datetime | None
    next_due_at: datetime | None  # None: never visited and not yet scheduled


@dataclass(frozen=True)
class Overdue:
    person_id: str
    jurisdiction_path: str
    next_due_at: datetime
    version: int


# --- grids -----------------------------------------------------------------------------------

async def grid_path_of_stock(uow: UnitOfWork, grid_code: str) -> str | None:
    row = await uow.fetchone("SELECT jurisdiction_path FROM kit_stock WHERE grid_code = %s "
                             "LIMIT 1", [grid_code])
    return row[0] if row else None


async def grid_paths_of_households(uow: UnitOfWork, grid_code: str, scopes: list[str]
                                   ) -> list[str]:
    """The distinct paths ending in /grid_code/ among the projected households under `scopes`
    (at most two: more than one means the code is ambiguous)."""
    subtree, params = in_subtrees(scopes, "jurisdiction_path")
    rows = await uow.fetchall(
        f"SELECT DISTINCT jurisdiction_path FROM households WHERE {subtree} "
        "AND right(jurisdiction_path, %s) = %s LIMIT 2",
        [*params, len(grid_code) + 2, f"/{grid_code}/"])
    return [r[0] for r in rows]


async def grid_anywhere(uow: UnitOfWork, grid_code: str) -> bool:
    """Whether the grid is known at all (stock or households), outside the caller's scope."""
    await uow.with_scope(SYSTEM)
    try:
        row = await uow.fetchone(
            "SELECT EXISTS (SELECT 1 FROM kit_stock WHERE grid_code = %s) OR EXISTS "
            "(SELECT 1 FROM households WHERE right(jurisdiction_path, %s) = %s)",
            [grid_code, len(grid_code) + 2, f"/{grid_code}/"])
    finally:
        await uow.with_scope(uow.caller)
    return bool(row and row[0])


async def stock_anywhere(uow: UnitOfWork, grid_code: str, item: str) -> bool:
    await uow.with_scope(SYSTEM)
    try:
        row = await uow.fetchone("SELECT 1 FROM kit_stock WHERE grid_code = %s AND item = %s",
                                 [grid_code, item])
    finally:
        await uow.with_scope(uow.caller)
    return row is not None


# --- stock -----------------------------------------------------------------------------------

async def get_stock(uow: UnitOfWork, grid_code: str, item: str, lock: bool = False
                    ) -> Stock | None:
    row = await uow.fetchone(f"SELECT {_STOCK} FROM kit_stock WHERE grid_code = %s AND item = %s"
                             + (" FOR UPDATE" if lock else ""), [grid_code, item])
    return Stock(*row) if row else None


async def create_stock(uow: UnitOfWork, stock: Stock) -> None:
    """Inserts an empty row unless one exists (a concurrent first replenishment wins, the other
    then locks and adds to it)."""
    await uow.execute(
        "INSERT INTO kit_stock (grid_code, jurisdiction_path, item, lendable, total, available, "
        "low_stock_threshold) VALUES (%s, %s, %s, %s, 0, 0, %s) "
        "ON CONFLICT (grid_code, item) DO NOTHING",
        [stock.grid_code, stock.jurisdiction_path, stock.item, stock.lendable,
         stock.low_stock_threshold])


async def update_stock(uow: UnitOfWork, stock: Stock) -> Stock:
    row = await uow.fetchone(
        "UPDATE kit_stock SET total = %s, available = %s, low_stock_threshold = %s, "
        "version = version + 1, updated_at = now() WHERE grid_code = %s AND item = %s "
        f"RETURNING {_STOCK}",
        [stock.total, stock.available, stock.low_stock_threshold, stock.grid_code, stock.item])
    assert row is not None
    return Stock(*row)


async def list_stock(uow: UnitOfWork, paths: list[str], grid_code: str) -> list[Stock]:
    subtree, params = in_subtrees(paths, "jurisdiction_path")
    where = [subtree]
    if grid_code:
        where.append("grid_code = %s")
        params.append(grid_code)
    rows = await uow.fetchall(f"SELECT {_STOCK} FROM kit_stock WHERE {' AND '.join(where)} "
                              "ORDER BY grid_code, item", params)
    return [Stock(*r) for r in rows]


async def add_movement(uow: UnitOfWork, stock: Stock, kind: str, quantity: int,
                       person_id: str | None = None, loan_id: str | None = None) -> None:
    await uow.execute(
        "INSERT INTO kit_movements (grid_code, item, jurisdiction_path, kind, quantity, "
        "person_id, loan_id, actor) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        [stock.grid_code, stock.item, stock.jurisdiction_path, kind, quantity, person_id,
         loan_id, uow.caller.subject])


# --- loans -----------------------------------------------------------------------------------

async def insert_loan(uow: UnitOfWork, loan_id: str, stock: Stock, person_id: str,
                      person_path: str) -> Loan:
    row = await uow.fetchone(
        "INSERT INTO kit_loans (loan_id, grid_code, item, person_id, jurisdiction_path, "
        f"person_path, lent_by) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {_LOAN}",
        [loan_id, stock.grid_code, stock.item, person_id, stock.jurisdiction_path, person_path,
         uow.caller.subject])
    assert row is not None
    return Loan(*row)


async def get_loan(uow: UnitOfWork, loan_id: str, lock: bool = False) -> Loan | None:
    row = await uow.fetchone(f"SELECT {_LOAN} FROM kit_loans WHERE loan_id = %s"
                             + (" FOR UPDATE" if lock else ""), [loan_id])
    return Loan(*row) if row else None


async def mark_returned(uow: UnitOfWork, loan_id: str) -> Loan:
    row = await uow.fetchone(
        "UPDATE kit_loans SET returned_at = now(), returned_by = %s WHERE loan_id = %s "
        f"AND returned_at IS NULL RETURNING {_LOAN}", [uow.caller.subject, loan_id])
    assert row is not None
    return Loan(*row)


# --- sickbed ---------------------------------------------------------------------------------

async def person_groups(uow: UnitOfWork, person_id: str) -> list[str] | None:
    row = await uow.fetchone("SELECT priority_groups FROM persons WHERE person_id = %s "
                             "AND NOT archived", [person_id])
    return list(row[0]) if row else None


async def record_visit(uow: UnitOfWork, visit_id: str, person_id: str, path: str,
                       visited_at: datetime, note: str, interval: timedelta) -> Schedule:
    """Logs the visit and moves the schedule on; a visit older than the latest one is logged
    but leaves the schedule as it is."""
    await uow.execute(
        "INSERT INTO sickbed_visits (visit_id, person_id, jurisdiction_path, visited_at, note, "
        "recorded_by) VALUES (%s, %s, %s, %s, %s, %s)",
        [visit_id, person_id, path, visited_at, note, uow.caller.subject])
    row = await uow.fetchone(
        "INSERT INTO sickbed_schedules AS s (person_id, jurisdiction_path, last_visit_at, "
        "next_due_at) VALUES (%(person)s, %(path)s, %(at)s, %(due)s) "
        "ON CONFLICT (person_id) DO UPDATE SET jurisdiction_path = EXCLUDED.jurisdiction_path, "
        "overdue_notified_at = CASE WHEN s.last_visit_at IS NULL "
        "  OR s.last_visit_at <= EXCLUDED.last_visit_at THEN NULL "
        "  ELSE s.overdue_notified_at END, "
        "last_visit_at = GREATEST(s.last_visit_at, EXCLUDED.last_visit_at), "
        "next_due_at = GREATEST(s.last_visit_at, EXCLUDED.last_visit_at) + %(interval)s, "
        "version = s.version + 1, updated_at = now() "
        "RETURNING person_id::text, last_visit_at, next_due_at",
        {"person": person_id, "path": path, "at": visited_at, "due": visited_at + interval,
         "interval": interval})
    assert row is not None
    return Schedule(*row)


_IN_GROUP = (f"'{SERIOUSLY_ILL}' = ANY (p.priority_groups) AND NOT p.archived")


async def list_overdue(uow: UnitOfWork, paths: list[str], as_of: datetime, limit: int
                       ) -> list[Schedule]:
    """Seriously ill persons whose visit was due before `as_of`, most overdue first. A person
    never visited and not yet scheduled is due since the projection last learnt of them."""
    subtree, params = in_subtrees(paths, "p.jurisdiction_path")
    rows = await uow.fetchall(
        "SELECT p.person_id::text, s.last_visit_at, coalesce(s.next_due_at, p.updated_at) AS due "
        "FROM persons p LEFT JOIN sickbed_schedules s ON s.person_id = p.person_id "
        f"WHERE {subtree} AND {_IN_GROUP} AND coalesce(s.next_due_at, p.updated_at) < %s "
        "ORDER BY due, p.person_id LIMIT %s", [*params, as_of, limit])
    return [Schedule(*r) for r in rows]


async def schedule_never_visited(uow: UnitOfWork) -> int:
    """Gives every seriously ill person without a schedule one, due since the projection
    last learnt of them (run as SYSTEM)."""
    cur = await uow.execute(
        "INSERT INTO sickbed_schedules (person_id, jurisdiction_path, next_due_at) "
        "SELECT p.person_id, p.jurisdiction_path, p.updated_at FROM persons p "
        f"WHERE {_IN_GROUP} AND NOT EXISTS "
        "(SELECT 1 FROM sickbed_schedules s WHERE s.person_id = p.person_id) "
        "ON CONFLICT (person_id) DO NOTHING")
    return cur.rowcount


async def claim_overdue(uow: UnitOfWork, as_of: datetime, limit: int) -> list[Overdue]:
    """Locks and marks notified a batch of overdue schedules of persons still in the group;
    rows another replica holds are skipped, so each overdue visit is notified once."""
    rows = await uow.fetchall(
        "WITH due AS (SELECT s.person_id, p.jurisdiction_path FROM sickbed_schedules s "
        "JOIN persons p ON p.person_id = s.person_id "
        f"WHERE s.overdue_notified_at IS NULL AND s.next_due_at < %s AND {_IN_GROUP} "
        "ORDER BY s.next_due_at LIMIT %s FOR UPDATE OF s SKIP LOCKED) "
        "UPDATE sickbed_schedules s SET overdue_notified_at = now(), "
        "jurisdiction_path = due.jurisdiction_path, version = s.version + 1 "
        "FROM due WHERE s.person_id = due.person_id AND s.overdue_notified_at IS NULL "
        "RETURNING s.person_id::text, s.jurisdiction_path, s.next_due_at, s.version",
        [as_of, limit])
    return [Overdue(*r) for r in rows]

