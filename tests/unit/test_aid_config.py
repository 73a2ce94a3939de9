"""The aid service's rules from the environment (pure code: no database, broker or network).
The minimum living standard is not among them: it comes from the registry's jurisdictions."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from aid.config import AidRules
from runtime.settings import SettingsError

INT_VARIABLES = [
    "CDSP_AID_RED_MEDICAL_SHARE_PERCENT",
    "CDSP_AID_RELIEF_CAP_PERMILLE",
    "CDSP_AID_COMMUNITY_BUDGET_FEN",
    "CDSP_AID_ARRIVAL_SLA_S",
    "CDSP_AID_MEETING_SLA_S",
    "CDSP_AID_SCAN_S",
    "CDSP_AID_SICKBED_INTERVAL_DAYS",
    "CDSP_AID_KIT_LOW_STOCK",
]


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
    assert rules.community_budget_fen == 12_000_000  # 120,000 yuan
    assert rules.arrival_sla == timedelta(minutes=30)
    assert rules.meeting_sla == timedelta(hours=24)
    assert rules.scan_interval_s == 30
    assert rules.sickbed_interval == timedelta(days=14)
    assert rules.kit_low_stock == 2


def test_defaults_match_the_dataclass_defaults() -> None:
    assert AidRules.from_env() == AidRules()


def test_empty_values_mean_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in INT_VARIABLES:
        monkeypatch.setenv(name, "")
    assert AidRules.from_env() == AidRules()


def test_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDSP_AID_RED_MEDICAL_SHARE_PERCENT", "30")
    monkeypatch.setenv("CDSP_AID_RELIEF_CAP_PERMILLE", "2000")
    monkeypatch.setenv("CDSP_AID_COMMUNITY_BUDGET_FEN", "5000000")
    monkeypatch.setenv("CDSP_AID_ARRIVAL_SLA_S", "900")
    monkeypatch.setenv("CDSP_AID_MEETING_SLA_S", "43200")
    monkeypatch.setenv("CDSP_AID_SCAN_S", "5")
    monkeypatch.setenv("CDSP_AID_SICKBED_INTERVAL_DAYS", "7")
    monkeypatch.setenv("CDSP_AID_KIT_LOW_STOCK", "4")
    rules = AidRules.from_env()
    assert rules == AidRules(
        red_medical_share_percent=30, relief_cap_permille=2000,
        community_budget_fen=5_000_000, arrival_sla=timedelta(minutes=15),
        meeting_sla=timedelta(hours=12), sickbed_interval=timedelta(days=7),
        kit_low_stock=4, scan_interval_s=5)


@pytest.mark.parametrize("name", INT_VARIABLES)
@pytest.mark.parametrize("raw", ["abc", "1.5", "50%", "  ", "0x10"])
def test_bad_integers_name_the_variable(monkeypatch: pytest.MonkeyPatch, name: str,
                                        raw: str) -> None:
    monkeypatch.setenv(name, raw)
    with pytest.raises(SettingsError, match=name):
        AidRules.from_env()


def test_settings_error_is_a_value_error() -> None:
    assert issubclass(SettingsError, ValueError)


def test_the_living_standard_is_no_setting_of_the_aid_service() -> None:
    """One source: the registry's jurisdiction records, never a number of the aid service's."""
    fields = set(AidRules.__dataclass_fields__)
    assert not any("standard" in name for name in fields)
    assert not hasattr(AidRules, "relief_cap_fen")
