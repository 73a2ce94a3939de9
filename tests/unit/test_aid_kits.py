"""Emergency kit and home sickbed rules, without I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from aid.domain import kits
from aid.domain.kits import Stock
from runtime.errors import FailedPrecondition, InvalidArgument

PERSON = "00000000-0000-4000-8000-000000000001"
SKEW = timedelta(minutes=2)


def stock(lendable: bool = True, total: int = 5, available: int = 5, threshold: int = 2
          ) -> Stock:
    return Stock("G-g1", "/C/C-c/G-g1/", "wheelchair" if lendable else "nursing_pads",
                 lendable, total, available, threshold, version=3)


def fields(exc: pytest.ExceptionInfo[InvalidArgument]) -> set[str]:
    return {v.field for v in exc.value.violations}


@pytest.mark.parametrize("quantity", [0, -1, 1001])
def test_quantity_is_1_to_1000(quantity: int) -> None:
    with pytest.raises(InvalidArgument) as exc:
        kits.validate_replenish("G-g1", "wheelchair", quantity, 0)
    assert fields(exc) == {"quantity"}
    with pytest.raises(InvalidArgument) as exc:
        kits.validate_consume("G-g1", "nursing_pads", quantity, "")
    assert fields(exc) == {"quantity"}


def test_quantity_bounds_accepted() -> None:
    kits.validate_replenish("G-g1", "wheelchair", 1, 0)
    kits.validate_replenish("G-g1", "wheelchair", 1000, 1000)
    kits.validate_consume("G-g1", "nursing_pads", 1000, PERSON)


@pytest.mark.parametrize("item", ["", "a", "Wheelchair", "wheel chair", "轮椅", "x1", "a" * 41])
def test_item_names(item: str) -> None:
    with pytest.raises(InvalidArgument) as exc:
        kits.validate_lend("G-g1", item, PERSON)
    assert fields(exc) == {"item"}


def test_item_name_bounds_accepted() -> None:
    kits.validate_lend("G-g1", "ab", PERSON)
    kits.validate_lend("G-g1", "nursing_pads_" + "x" * 27, PERSON)


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(InvalidArgument) as exc:
        kits.validate_replenish("", "X", 0, -1)
    assert fields(exc) == {"grid_code", "item", "quantity", "low_stock_threshold"}
    with pytest.raises(InvalidArgument) as exc:
        kits.validate_lend("a/b", "wheelchair", "nope")
    assert fields(exc) == {"grid_code", "person_id"}
    with pytest.raises(InvalidArgument) as exc:
        kits.validate_consume("G-g1", "nursing_pads", 1, "nope")
    assert fields(exc) == {"person_id"}


def test_replenish_adds_to_both_and_keeps_threshold_on_zero() -> None:
    after = kits.replenish(stock(available=3), 4, True, 0)
    assert (after.total, after.available, after.low_stock_threshold) == (9, 7, 2)
    assert kits.replenish(stock(), 1, True, 7).low_stock_threshold == 7


def test_replenish_cannot_change_lendable() -> None:
    with pytest.raises(FailedPrecondition, match="lendable"):
        kits.replenish(stock(lendable=True), 1, False, 0)
    fresh = kits.new_stock("G-g1", "/C/G-g1/", "walker", False, 2)
    assert kits.replenish(fresh, 3, False, 0).available == 3


def test_replenish_caps_total() -> None:
    with pytest.raises(FailedPrecondition, match="more than"):
        kits.replenish(stock(total=kits.MAX_TOTAL, available=0), 1, True, 0)


def test_lend_only_lendable_with_one_available() -> None:
    assert kits.lend(stock(available=1)).available == 0
    with pytest.raises(FailedPrecondition, match="none available"):
        kits.lend(stock(available=0))
    with pytest.raises(FailedPrecondition, match="consumable"):
        kits.lend(stock(lendable=False))


def test_consume_only_consumables_and_within_stock() -> None:
    after = kits.consume(stock(lendable=False, total=10, available=10), 4)
    assert (after.total, after.available) == (6, 6)
    with pytest.raises(FailedPrecondition, match="only 3 nursing_pads available"):
        kits.consume(stock(lendable=False, total=3, available=3), 4)
    with pytest.raises(FailedPrecondition, match="not consumed"):
        kits.consume(stock(lendable=True), 1)


def test_return_once() -> None:
    kits.require_not_returned(None)
    with pytest.raises(FailedPrecondition, match="already returned"):
        kits.require_not_returned(datetime.now(UTC))
    assert kits.give_back(stock(available=4)).available == 5
    with pytest.raises(FailedPrecondition):
        kits.give_back(stock(available=5))


@pytest.mark.parametrize(("before", "after", "crossed"), [
    (3, 2, True),    # above → at the threshold
    (5, 0, True),    # above → below
    (2, 1, False),   # already at it
    (1, 0, False),   # already below
    (5, 3, False),   # still above
])
def test_low_stock_once_per_crossing(before: int, after: int, crossed: bool) -> None:
    s = stock(total=5, available=before, threshold=2)
    assert kits.crossed_low(s, replace(s, available=after)) is crossed


def test_sickbed_visit_rules() -> None:
    now = datetime.now(UTC)
    kits.validate_visit(now - timedelta(days=3), now, "", SKEW)
    kits.validate_visit(now + timedelta(minutes=1), now, "", SKEW)  # clock skew allowed
    with pytest.raises(InvalidArgument) as exc:
        kits.validate_visit(now + timedelta(hours=1), now, "x" * 2001, SKEW)
    assert fields(exc) == {"visited_at", "note"}
    assert kits.next_due(now, timedelta(days=14)) == now + timedelta(days=14)


def test_sickbed_only_for_the_seriously_ill() -> None:
    kits.require_seriously_ill(["elderly_living_alone", "seriously_ill"])
    with pytest.raises(FailedPrecondition, match="seriously_ill"):
        kits.require_seriously_ill(["elderly_living_alone"])
