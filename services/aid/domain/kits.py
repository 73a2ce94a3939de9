"""Emergency kits (暖心应急包) and home sickbed visits: the rules, without I/O.

Kits. A grid holds items of its kit, each either lendable (wheelchairs, walkers: lent to a person
and returned) or consumable (nursing pads, medicines: handed out and gone). `total` is what the
grid holds, lent items included; `available` is what is on the shelf. Replenishing adds to both;
lending takes one off the shelf and a return puts it back; consuming removes from both. An item is
low on stock when `available <= low_stock_threshold`; KitLowOnStock is raised once per crossing:
when a lend or a consumption takes it from above the threshold to at or below it.

Sickbed. A seriously ill person is visited every `sickbed_interval` (two weeks): the next visit is
due that long after the latest one.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from runtime.errors import FailedPrecondition, Violations

ITEM_RE = re.compile(r"[a-z_]{2,40}")
GRID_RE = re.compile(r"[A-Za-z0-9-]{1,32}")  # one segment of a jurisdiction path
MIN_QUANTITY, MAX_QUANTITY = 1, 1000
MAX_THRESHOLD = 1000
MAX_TOTAL = 100_000  # what one grid can hold of one item; more is a typing error
MAX_NOTE = 2000
SERIOUSLY_ILL = "seriously_ill"


@dataclass(frozen=True)
class Stock:
    grid_code: str
    jurisdiction_path: str
    item: str
    lendable: bool
    total: int
    available: int
    low_stock_threshold: int
    version: int = 0  # 0: not stored yet


def _grid(v: Violations, grid_code: str) -> None:
    v.check(bool(GRID_RE.fullmatch(grid_code)), "grid_code",
            "required: the grid's code, letters, digits and '-', at most 32")


def _item(v: Violations, item: str) -> None:
    v.check(bool(ITEM_RE.fullmatch(item)), "item",
            "2 to 40 lower-case letters or '_' (wheelchair, nursing_pads, ...)")


def _quantity(v: Violations, quantity: int) -> None:
    v.check(MIN_QUANTITY <= quantity <= MAX_QUANTITY, "quantity",
            f"{MIN_QUANTITY} to {MAX_QUANTITY}")


def _uuid(v: Violations, value: str, field: str) -> None:
    try:
        uuid.UUID(value)
    except ValueError:
        v.add(field, "must be a UUID")


def validate_grid(grid_code: str) -> None:
    v = Violations()
    _grid(v, grid_code)
    v.raise_if_any()


def validate_replenish(grid_code: str, item: str, quantity: int, threshold: int) -> None:
    v = Violations()
    _grid(v, grid_code)
    _item(v, item)
    _quantity(v, quantity)
    v.check(0 <= threshold <= MAX_THRESHOLD, "low_stock_threshold",
            f"0 (keep the current one) to {MAX_THRESHOLD}")
    v.raise_if_any()


def validate_lend(grid_code: str, item: str, person_id: str) -> None:
    v = Violations()
    _grid(v, grid_code)
    _item(v, item)
    _uuid(v, person_id, "person_id")
    v.raise_if_any()


def validate_consume(grid_code: str, item: str, quantity: int, person_id: str) -> None:
    """person_id is optional for a consumption (supplies handed out at an event)."""
    v = Violations()
    _grid(v, grid_code)
    _item(v, item)
    _quantity(v, quantity)
    if person_id:
        _uuid(v, person_id, "person_id")
    v.raise_if_any()


def new_stock(grid_code: str, path: str, item: str, lendable: bool, default_threshold: int
              ) -> Stock:
    return Stock(grid_code, path, item, lendable, 0, 0, default_threshold)


def replenish(stock: Stock, quantity: int, lendable: bool, threshold: int) -> Stock:
    """Adds `quantity`; a threshold of 0 keeps the current one."""
    if stock.version and stock.lendable != lendable:
        kind = "lendable" if stock.lendable else "consumable"
        raise FailedPrecondition(f"{stock.item} is kept as {kind} in grid {stock.grid_code}; "
                                 f"replenish it with lendable={str(stock.lendable).lower()}")
    if stock.total + quantity > MAX_TOTAL:
        raise FailedPrecondition(f"grid {stock.grid_code} would hold more than {MAX_TOTAL} "
                                 f"of {stock.item} (it holds {stock.total})")
    return replace(stock, total=stock.total + quantity, available=stock.available + quantity,
                   low_stock_threshold=threshold or stock.low_stock_threshold)


def lend(stock: Stock) -> Stock:
    if not stock.lendable:
        raise FailedPrecondition(f"{stock.item} is consumable, not lent: use ConsumeKit")
    if stock.available <= 0:
        raise FailedPrecondition(f"none available: every {stock.item} of grid "
                                 f"{stock.grid_code} is lent out")
    return replace(stock, available=stock.available - 1)


def give_back(stock: Stock) -> Stock:
    """A lent item comes back on the shelf."""
    if stock.available >= stock.total:
        raise FailedPrecondition(f"every {stock.item} of grid {stock.grid_code} is already "
                                 "on the shelf")
    return replace(stock, available=stock.available + 1)


def consume(stock: Stock, quantity: int) -> Stock:
    if stock.lendable:
        raise FailedPrecondition(f"{stock.item} is lent and returned, not consumed: use LendKit")
    if quantity > stock.available:
        raise FailedPrecondition(f"only {stock.available} {stock.item} available in grid "
                                 f"{stock.grid_code}, {quantity} asked for")
    return replace(stock, total=stock.total - quantity, available=stock.available - quantity)


def require_not_returned(returned_at: datetime | None) -> None:
    if returned_at is not None:
        raise FailedPrecondition(f"the loan is already returned (at {returned_at.isoformat()})")


def crossed_low(before: Stock, after: Stock) -> bool:
    """True when this change took the item from above its threshold to at or below it."""
    threshold = after.low_stock_threshold
    return before.available > threshold >= after.available


def validate_visit(visited_at: datetime, now: datetime, note: str, skew: timedelta) -> None:
    v = Violations()
    v.check(visited_at <= now + skew, "visited_at", "cannot be in the future")
    v.check(len(note) <= MAX_NOTE, "note", f"at most {MAX_NOTE} characters")
    v.raise_if_any()


def require_seriously_ill(priority_groups: list[str]) -> None:
    if SERIOUSLY_ILL not in priority_groups:
        raise FailedPrecondition("home sickbed visits are for persons of the seriously_ill "
                                 "priority group; this person is not in it")


def next_due(last_visit_at: datetime, interval: timedelta) -> datetime:
    return last_visit_at + interval
