"""The aid service's rules from the environment, and the per-city living standard and relief cap
(pure code: no database, broker or network)."""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aid.config import AidRules
from runtime.settings import SettingsError

FAST = settings(max_examples=200, deadline=None)
INT_VARIABLES = [
    "CDSP_AID_RED_MEDICAL_SHARE_PERCENT",
    "CDSP_AID_RELIEF_CAP_PERMILLE",
    "CDSP_AID_DEFAULT_LIVING_STANDARD_FEN",
    "CDSP_AID_COMMUNITY_BUDGET_FEN",
    "CDSP_AID_ARRIVAL_SLA_S",
    "CDSP_AID_MEETING_SLA_S",
    "CDSP_AID_SCAN_S",
    "CDSP_AID_SICKBED_INTERVAL_DAYS",
    "CDSP_AID_KIT_LOW_STOCK",
]
GRID = "/3505/350502/350502001/350502001001/g01/"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("CDSP_AID_"):
            monkeypatch.delenv(name)
    return monkeypatch


# --- from_env ----------------------------------------------------------------------------------

def test_defaults() -> None:
    rules = AidRules.from_env()
    assert rules.red_medical_share_percent == 50
    assert rules.relief_cap_permille == 1500
    assert rules.living_standards == {}
    assert rules.default_living_standard_fen == 93_000
    assert rules.community_budget_fen == 12_000_000  # 120,000 yuan
    assert rules.arrival_sla == timedelta(minutes=30)
    assert rules.meeting_sla == timedelta(hours=24)
    assert rules.scan_interval_s == 30
    assert rules.sickbed_interval == timedelta(days=14)
    assert rules.kit_low_stock == 2


def test_defaults_match_the_dataclass_defaults() -> None:
    assert AidRules.from_env() == AidRules()


def test_empty_values_mean_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [*INT_VARIABLES, "CDSP_AID_LIVING_STANDARDS"]:
        monkeypatch.setenv(name, "")
    assert AidRules.from_env() == AidRules()


def test_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDSP_AID_RED_MEDICAL_SHARE_PERCENT", "30")
    monkeypatch.setenv("CDSP_AID_RELIEF_CAP_PERMILLE", "2000")
    monkeypatch.setenv("CDSP_AID_LIVING_STANDARDS", "3505=95000")
    monkeypatch.setenv("CDSP_AID_DEFAULT_LIVING_STANDARD_FEN", "80000")
    monkeypatch.setenv("CDSP_AID_COMMUNITY_BUDGET_FEN", "5000000")
    monkeypatch.setenv("CDSP_AID_ARRIVAL_SLA_S", "900")
    monkeypatch.setenv("CDSP_AID_MEETING_SLA_S", "43200")
    monkeypatch.setenv("CDSP_AID_SCAN_S", "5")
    monkeypatch.setenv("CDSP_AID_SICKBED_INTERVAL_DAYS", "7")
    monkeypatch.setenv("CDSP_AID_KIT_LOW_STOCK", "4")
    rules = AidRules.from_env()
    assert rules == AidRules(
        red_medical_share_percent=30, relief_cap_permille=2000,
        living_standards={"3505": 95_000}, default_living_standard_fen=80_000,
        community_budget_fen=5_000_000, arrival_sla=timedelta(minutes=15),
        meeting_sla=timedelta(hours=12), sickbed_interval=timedelta(days=7),
        kit_low_stock=4, scan_interval_s=5)


@pytest.mark.parametrize(("raw", "expected"), [
    ("3505=93000", {"3505": 93_000}),
    ("3505=93000,3501=101000", {"3505": 93_000, "3501": 101_000}),
    (" 3505=93000 , 3501=101000 ", {"3505": 93_000, "3501": 101_000}),
    ("3505=93000,", {"3505": 93_000}),
    (",,3505=93000,,", {"3505": 93_000}),
    ("3505=0", {"3505": 0}),
    ("3505=93000,3505=95000", {"3505": 95_000}),  # the last one wins
    (",", {}),
])
def test_living_standards_parsing(monkeypatch: pytest.MonkeyPatch, raw: str,
                                  expected: dict[str, int]) -> None:
    monkeypatch.setenv("CDSP_AID_LIVING_STANDARDS", raw)
    assert AidRules.from_env().living_standards == expected


@pytest.mark.parametrize("raw", [
    "3505",            # no =
    "3505=",           # no amount
    "=93000",          # no city
    "3505=930.00",     # yuan, not fen
    "3505=-93000",     # negative
    "3505=9.3e4",
    "3505=abc",
    "3505=93000,3501",
    "3505:93000",
    "3505=²",          # str.isdigit() is true for this, int() rejects it
])
def test_bad_living_standards(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("CDSP_AID_LIVING_STANDARDS", raw)
    with pytest.raises(SettingsError, match="CDSP_AID_LIVING_STANDARDS"):
        AidRules.from_env()


@pytest.mark.parametrize("raw", ["3505 =95000", "3505\t=95000"])
def test_space_before_equals_is_not_a_silent_other_city(monkeypatch: pytest.MonkeyPatch,
                                                         raw: str) -> None:
    """Either the code is trimmed or the item is rejected: never stored under "3505 ", which
    would silently give city 3505 the default living standard."""
    monkeypatch.setenv("CDSP_AID_LIVING_STANDARDS", raw)
    try:
        rules = AidRules.from_env()
    except SettingsError as e:
        assert "CDSP_AID_LIVING_STANDARDS" in str(e)
    else:
        assert rules.living_standards == {"3505": 95_000}
        assert rules.living_standard_fen("/3505/350502/") == 95_000


@pytest.mark.parametrize("name", INT_VARIABLES)
@pytest.mark.parametrize("raw", ["abc", "1.5", "50%", "  ", "0x10"])
def test_bad_integers_name_the_variable(monkeypatch: pytest.MonkeyPatch, name: str,
                                        raw: str) -> None:
    monkeypatch.setenv(name, raw)
    with pytest.raises(SettingsError, match=name):
        AidRules.from_env()


def test_settings_error_is_a_value_error() -> None:
    assert issubclass(SettingsError, ValueError)


# --- living_standard_fen / relief_cap_fen ------------------------------------------------------

RULES = AidRules(living_standards={"3505": 95_000, "3501": 101_000},
                 default_living_standard_fen=93_000)


@pytest.mark.parametrize(("path", "fen"), [
    ("/3505/", 95_000),
    ("/3505", 95_000),
    ("/3505/350502/", 95_000),
    (GRID, 95_000),
    ("/3501/350102/350102001/", 101_000),
    ("/3502/350203/", 93_000),    # not listed: the default
    ("/35/", 93_000),
    ("/350502/3505/", 93_000),    # only the first segment is the city
])
def test_living_standard_by_city(path: str, fen: int) -> None:
    assert RULES.living_standard_fen(path) == fen


@pytest.mark.parametrize(("path", "fen"), [
    ("/3505/", 142_500),
    (GRID, 142_500),
    ("/3501/350102/", 151_500),
    ("/3502/", 139_500),  # the default 930 yuan x 1.5
])
def test_relief_cap_by_city(path: str, fen: int) -> None:
    assert RULES.relief_cap_fen(path) == fen


def test_relief_cap_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDSP_AID_LIVING_STANDARDS", "3505=93000,3501=101000")
    monkeypatch.setenv("CDSP_AID_RELIEF_CAP_PERMILLE", "1200")
    rules = AidRules.from_env()
    assert rules.relief_cap_fen(GRID) == 111_600
    assert rules.relief_cap_fen("/3501/350102/") == 121_200
    assert rules.relief_cap_fen("/3599/") == 111_600


def test_relief_cap_is_floored_in_integers() -> None:
    rules = AidRules(default_living_standard_fen=93_001)
    assert rules.relief_cap_fen("/3505/") == 139_501  # 139,501.5 fen, rounded down
    rules = AidRules(default_living_standard_fen=9_007_199_254_740_993, relief_cap_permille=1500)
    assert rules.relief_cap_fen("/3505/") == 13_510_798_882_111_489  # beyond float precision


@FAST
@given(standard=st.integers(min_value=0, max_value=10**15),
       permille=st.integers(min_value=0, max_value=10_000),
       city=st.text(alphabet="0123456789", min_size=1, max_size=6))
def test_relief_cap_property(standard: int, permille: int, city: str) -> None:
    rules = AidRules(living_standards={city: standard}, relief_cap_permille=permille,
                     default_living_standard_fen=1)
    exact = (Decimal(standard) * permille / 1000).to_integral_value(ROUND_FLOOR)
    assert rules.relief_cap_fen(f"/{city}/") == int(exact)
    assert rules.relief_cap_fen(f"/{city}/01/02/03/g1/") == int(exact)
    assert rules.living_standard_fen(f"/{city}x/") == 1  # another city: the default
