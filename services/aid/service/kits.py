"""Use cases for emergency kits and home sickbed visits.

Which grid. The aid service keeps no table of jurisdictions, so a grid code is turned into the
grid's path (what its kit is filed under, for row-level security) by `resolve_grid`, in order:
  1. the path of the grid's stock already held (visible to the caller);
  2. one of the caller's scopes ending in /<grid_code>/ (a grid worker's scope IS the grid);
  3. the paths ending in /<grid_code>/ of the projected households in the caller's scopes (a
     community worker or an admin above the grid; the grid must have one projected household).
Nothing found: PERMISSION_DENIED when the grid is known outside the caller's scopes, else
NOT_FOUND. Two different paths for one code: FAILED_PRECONDITION (codes are meant to be unique).

Sickbed. A seriously ill person never visited has no schedule yet: they are due since the aid
service's projection last learnt of them (persons.updated_at, the nearest it has to "joined the
group"). The scan gives each such person a schedule with that due time, so the listing and the
scan agree, and from the first visit on the next visit is due `sickbed_interval` later.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from aid.adapters import kit_store
from aid.adapters.kit_store import Loan, Schedule
from aid.config import Aid
from aid.domain import kits
from aid.domain.kits import Stock
from aid.service.access import (
    READ_ROLES,
    SICKBED_ROLES,
    WORKER_ROLES,
    load_person_path,
    not_visible,
)
from cdsp.events.v1 import aid_pb2 as ev
from runtime.auth import SYSTEM, Caller
from runtime.db import UnitOfWork
from runtime.errors import FailedPrecondition, NotFound, PermissionDenied
from runtime.inputs import require_uuid, subtrees
from runtime.server import PeriodicJob
from runtime.timestamps import to_timestamp

CLOCK_SKEW = timedelta(minutes=2)
MAX_OVERDUE = 5000  # the listing has no pages: the most overdue first, at most this many
SCAN_BATCH = 200


# --- kits ------------------------------------------------------------------------------------

async def resolve_grid(uow: UnitOfWork, grid_code: str) -> str:
    """The grid's jurisdiction path, within the caller's scopes (see the module's notes)."""
    path = await kit_store.grid_path_of_stock(uow, grid_code)
    if path is not None:
        return path
    suffix = f"/{grid_code}/"
    for scope in uow.caller.scopes:
        if scope.endswith(suffix):
            return scope
    paths = await kit_store.grid_paths_of_households(uow, grid_code, list(uow.caller.scopes))
    if len(paths) > 1:
        raise FailedPrecondition(f"grid code {grid_code} names several jurisdictions: "
                                 f"{', '.join(paths)}")
    if paths:
        return paths[0]
    if await kit_store.grid_anywhere(uow, grid_code):
        raise PermissionDenied(f"grid {grid_code} is outside your jurisdictions")
    raise NotFound(f"no grid {grid_code} known to the aid service (a grid becomes known with "
                   "its first projected household, or to a caller scoped at it)")


async def _load_stock(uow: UnitOfWork, grid_code: str, item: str) -> Stock:
    """The stock row, locked for the change."""
    stock = await kit_store.get_stock(uow, grid_code, item, lock=True)
    if stock is not None:
        return stock
    if await kit_store.stock_anywhere(uow, grid_code, item):
        raise PermissionDenied(f"grid {grid_code} is outside your jurisdictions")
    raise NotFound(f"grid {grid_code} holds no {item}")


def _record_low_stock(uow: UnitOfWork, before: Stock, after: Stock) -> None:
    if kits.crossed_low(before, after):
        uow.record(ev.KitLowOnStock(grid_code=after.grid_code, item=after.item,
                                    available=after.available,
                                    threshold=after.low_stock_threshold),
                   aggregate_type="kit_stock", aggregate_id=f"{after.grid_code}:{after.item}",
                   version=after.version, jurisdiction_path=after.jurisdiction_path)


async def replenish(aid: Aid, caller: Caller, grid_code: str, item: str, quantity: int,
                    lendable: bool, threshold: int) -> Stock:
    caller.require_role(*WORKER_ROLES)
    kits.validate_replenish(grid_code, item, quantity, threshold)
    async with aid.db.unit_of_work(caller) as uow:
        path = await resolve_grid(uow, grid_code)
        await kit_store.create_stock(uow, kits.new_stock(grid_code, path, item, lendable,
                                                         threshold or aid.rules.kit_low_stock))
        stock = await _load_stock(uow, grid_code, item)
        after = await kit_store.update_stock(uow, kits.replenish(stock, quantity, lendable,
                                                                 threshold))
        await kit_store.add_movement(uow, after, "replenish", quantity)
        return after


async def lend(aid: Aid, caller: Caller, grid_code: str, item: str, person_id: str
               ) -> Loan:
    caller.require_role(*WORKER_ROLES)
    kits.validate_lend(grid_code, item, person_id)
    async with aid.db.unit_of_work(caller) as uow:
        person_path = await load_person_path(uow, person_id)
        before = await _load_stock(uow, grid_code, item)
        after = await kit_store.update_stock(uow, kits.lend(before))
        loan = await kit_store.insert_loan(uow, str(uuid.uuid4()), after, person_id,
                                           person_path)
        await kit_store.add_movement(uow, after, "lend", 1, person_id, loan.loan_id)
        uow.record(ev.KitLent(loan_id=loan.loan_id, grid_code=loan.grid_code, item=loan.item,
                              person_id=loan.person_id),
                   aggregate_type="kit_loan", aggregate_id=loan.loan_id, version=1,
                   jurisdiction_path=loan.jurisdiction_path)
        _record_low_stock(uow, before, after)
        return loan


async def _load_loan(uow: UnitOfWork, loan_id: str) -> Loan:
    require_uuid(loan_id, "loan_id")
    loan = await kit_store.get_loan(uow, loan_id, lock=True)
    if loan is not None:
        return loan
    await not_visible(uow, "kit_loans", "loan_id", loan_id, "loan")


async def return_loan(aid: Aid, caller: Caller, loan_id: str) -> Loan:
    """The item goes back to the stock of the grid that lent it. Either that grid or the grid
    the person lives in now (they may have moved) may take it back: a caller who sees the loan
    returns it to the lending grid's stock, whatever their own scope."""
    caller.require_role(*WORKER_ROLES)
    async with aid.db.unit_of_work(caller) as uow:
        loan = await _load_loan(uow, loan_id)
        kits.require_not_returned(loan.returned_at)
        returned = await kit_store.mark_returned(uow, loan.loan_id)
        await uow.with_scope(SYSTEM)
        stock = await _load_stock(uow, loan.grid_code, loan.item)
        after = await kit_store.update_stock(uow, kits.give_back(stock))
        await kit_store.add_movement(uow, after, "return", 1, loan.person_id, loan.loan_id)
        return returned


async def consume(aid: Aid, caller: Caller, grid_code: str, item: str, quantity: int,
                  person_id: str) -> Stock:
    caller.require_role(*WORKER_ROLES)
    kits.validate_consume(grid_code, item, quantity, person_id)
    async with aid.db.unit_of_work(caller) as uow:
        if person_id:
            await load_person_path(uow, person_id)
        before = await _load_stock(uow, grid_code, item)
        after = await kit_store.update_stock(uow, kits.consume(before, quantity))
        await kit_store.add_movement(uow, after, "consume", quantity, person_id or None)
        _record_low_stock(uow, before, after)
        return after


async def list_stock(aid: Aid, caller: Caller, grid_code: str) -> list[Stock]:
    """The stock of one grid, or of every grid in the caller's jurisdictions."""
    caller.require_role(*READ_ROLES)
    async with aid.db.unit_of_work(caller) as uow:
        if not grid_code:
            return await kit_store.list_stock(uow, list(caller.scopes), "")
        kits.validate_grid(grid_code)
        path = await resolve_grid(uow, grid_code)
        return await kit_store.list_stock(uow, [path], grid_code)


# --- sickbed ---------------------------------------------------------------------------------

async def record_sickbed_visit(aid: Aid, caller: Caller, person_id: str,
                               visited_at: datetime | None, note: str) -> Schedule:
    caller.require_role(*SICKBED_ROLES)
    require_uuid(person_id, "person_id")
    now = datetime.now(UTC)
    at = visited_at or now
    kits.validate_visit(at, now, note, CLOCK_SKEW)
    async with aid.db.unit_of_work(caller) as uow:
        path = await load_person_path(uow, person_id)
        kits.require_seriously_ill(await kit_store.person_groups(uow, person_id) or [])
        return await kit_store.record_visit(uow, str(uuid.uuid4()), person_id, path, at,
                                            note.strip(), aid.rules.sickbed_interval)


async def list_overdue_sickbed(aid: Aid, caller: Caller, path: str, as_of: datetime | None
                               ) -> list[Schedule]:
    caller.require_role(*READ_ROLES)
    paths = subtrees(caller, path)
    async with aid.db.unit_of_work(caller) as uow:
        return await kit_store.list_overdue(uow, paths, as_of or datetime.now(UTC), MAX_OVERDUE)


async def scan_sickbed(aid: Aid, as_of: datetime | None = None) -> int:
    """One SickbedVisitOverdue per schedule due before `as_of` (default now), once until the
    next visit; safe to run on several replicas at once. Returns how many were notified."""
    as_of = as_of or datetime.now(UTC)
    async with aid.db.unit_of_work(SYSTEM) as uow:
        await kit_store.schedule_never_visited(uow)
    notified = 0
    while True:
        async with aid.db.unit_of_work(SYSTEM) as uow:
            batch = await kit_store.claim_overdue(uow, as_of, SCAN_BATCH)
            for due in batch:
                uow.record(ev.SickbedVisitOverdue(person_id=due.person_id,
                                                  due_at=to_timestamp(due.next_due_at)),
                           aggregate_type="sickbed_schedule", aggregate_id=due.person_id,
                           version=due.version, jurisdiction_path=due.jurisdiction_path)
        notified += len(batch)
        if len(batch) < SCAN_BATCH:
            return notified


def kit_jobs(aid: Aid) -> list[PeriodicJob]:
    return [PeriodicJob("sickbed-scan", aid.rules.scan_interval_s, lambda: scan_sickbed(aid))]
