"""Jurisdictions and households."""

from __future__ import annotations

import pytest

from registry.domain.household import (
    CITY,
    COMMUNITY,
    DISTRICT,
    GRID,
    MAX_MONTHLY_INCOME_FEN,
    STREET,
    Household,
    Jurisdiction,
)
from runtime.errors import InvalidArgument


def jurisdiction(level: int, code: str = "3505") -> Jurisdiction:
    return Jurisdiction(code=code, name="x", level=level, parent_code="", path=f"/{code}/")


def new_violations(code: str = "350502", name: str = "思明区", level: int = DISTRICT,
                   parent: Jurisdiction | None = None, living_standard_fen: int = 95_000
                   ) -> set[str]:
    with pytest.raises(InvalidArgument) as exc:
        Jurisdiction.validate_new(code, name, level, parent, living_standard_fen)
    return {v.field for v in exc.value.violations}


# ------------------------------------------------------------------ jurisdictions


def test_a_city_has_no_parent() -> None:
    Jurisdiction.validate_new("3505", "厦门市", CITY, None, 95_000)
    assert new_violations(level=CITY, parent=jurisdiction(CITY)) == {"parent_code"}


@pytest.mark.parametrize("level", [DISTRICT, STREET, COMMUNITY, GRID])
def test_every_other_level_needs_a_parent_one_level_up(level: int) -> None:
    Jurisdiction.validate_new("c1", "name", level, jurisdiction(level - 1), 0)
    assert new_violations(level=level, parent=None) == {"parent_code"}


@pytest.mark.parametrize(("level", "parent_level"), [
    (STREET, CITY), (GRID, STREET), (DISTRICT, DISTRICT), (DISTRICT, GRID), (COMMUNITY, GRID),
])
def test_a_parent_at_the_wrong_level_is_rejected(level: int, parent_level: int) -> None:
    assert new_violations(level=level, parent=jurisdiction(parent_level)) == {"level"}


def test_nothing_sits_below_a_grid() -> None:
    assert new_violations(level=GRID + 1, parent=jurisdiction(GRID)) == {"level"}


@pytest.mark.parametrize("level", [0, 6, -1])
def test_unknown_level_is_rejected(level: int) -> None:
    assert new_violations(level=level, parent=None) == {"level"}


@pytest.mark.parametrize("code", ["", "a b", "a/b", "中文", "x" * 33, "3505_1", "350502\n"])
def test_code_format(code: str) -> None:
    assert new_violations(code=code, parent=jurisdiction(CITY)) == {"code"}


@pytest.mark.parametrize("code", ["3505", "g-01", "A" * 32])
def test_good_codes(code: str) -> None:
    Jurisdiction.validate_new(code, "name", DISTRICT, jurisdiction(CITY), 0)


@pytest.mark.parametrize("name", ["", "   ", "n" * 101])
def test_name_required_at_most_100(name: str) -> None:
    assert new_violations(name=name, parent=jurisdiction(CITY)) == {"name"}


@pytest.mark.parametrize("fen", [-1, 10_000_001])
def test_living_standard_bounds(fen: int) -> None:
    assert new_violations(living_standard_fen=fen, parent=jurisdiction(CITY)) == {
        "minimum_living_standard_fen"}


@pytest.mark.parametrize("fen", [0, 10_000_000])
def test_living_standard_limits_are_inclusive(fen: int) -> None:
    Jurisdiction.validate_new("350502", "思明区", DISTRICT, jurisdiction(CITY), fen)


def test_all_jurisdiction_violations_at_once() -> None:
    assert new_violations(code="a b", name="", level=STREET, parent=None,
                          living_standard_fen=-5) == {
        "code", "name", "parent_code", "minimum_living_standard_fen"}


# ------------------------------------------------------------------ households


def household(**overrides: object) -> Household:
    values: dict[str, object] = {"household_id": "0d6f9b52-8d7e-4b1b-9f0e-5c6f7a8b9c0d",
                                 "grid_code": "g01", "jurisdiction_path": "/3505/g01/",
                                 "address": "思明区某路1号", "monthly_income_fen": 350_000}
    values.update(overrides)
    return Household(**values)  # type: ignore[arg-type]


def household_violations(h: Household) -> set[str]:
    with pytest.raises(InvalidArgument) as exc:
        h.validate()
    return {v.field for v in exc.value.violations}


@pytest.mark.parametrize("income", [0, 350_000, MAX_MONTHLY_INCOME_FEN])
def test_household_income_in_range(income: int) -> None:
    household(monthly_income_fen=income).validate()


@pytest.mark.parametrize("income", [-1, -350_000, MAX_MONTHLY_INCOME_FEN + 1, 10**15])
def test_negative_or_absurd_income_is_rejected(income: int) -> None:
    assert household_violations(household(monthly_income_fen=income)) == {"monthly_income_fen"}


@pytest.mark.parametrize("address", ["", "   ", "路" * 201])
def test_address_required_at_most_200(address: str) -> None:
    assert household_violations(household(address=address)) == {"address"}


def test_household_reports_both_violations() -> None:
    assert household_violations(household(address="", monthly_income_fen=-1)) == {
        "address", "monthly_income_fen"}
