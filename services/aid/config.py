"""The aid service's rules, which are configuration, not code. Each from an environment variable:

    CDSP_AID_RED_MEDICAL_SHARE_PERCENT  red warning above this share of household income   (50)
    CDSP_AID_RELIEF_CAP_PERMILLE        the relief cap of one case (all its grants together),
                                        in thousandths of the monthly minimum living
                                        standard (1500 = 1.5 x)                             (1500)
    CDSP_AID_COMMUNITY_BUDGET_FEN       a community's annual relief budget  (12000000: 120,000 yuan)
    CDSP_AID_ARRIVAL_SLA_S              the grid team is on site within (seconds)       (1800)
    CDSP_AID_MEETING_SLA_S              unsolved: association meeting within (seconds) (86400)
    CDSP_AID_SCAN_S                     how often deadlines (the 30-minute loop's, and the
                                        required actions of cases) are scanned (seconds)    (30)
    CDSP_AID_SICKBED_INTERVAL_DAYS      home sickbed visits every                           (14)
    CDSP_AID_KIT_LOW_STOCK              default low-stock threshold of a kit item           (2)

The minimum living standard itself is not configuration: the registry's jurisdiction records
hold it (the deepest jurisdiction at or above a household that sets one), and the aid service
follows them from the registry's JurisdictionChanged events. What each warning level requires,
and within how long, is in aid.domain.warnings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from runtime.db import Database
from runtime.settings import env_int


@dataclass(frozen=True)
class AidRules:
    red_medical_share_percent: int = 50
    relief_cap_permille: int = 1500
    community_budget_fen: int = 12_000_000
    arrival_sla: timedelta = timedelta(minutes=30)
    meeting_sla: timedelta = timedelta(hours=24)
    sickbed_interval: timedelta = timedelta(days=14)
    kit_low_stock: int = 2
    scan_interval_s: int = 30

    @staticmethod
    def from_env() -> AidRules:
        return AidRules(
            red_medical_share_percent=env_int("CDSP_AID_RED_MEDICAL_SHARE_PERCENT", 50, 1, 100),
            relief_cap_permille=env_int("CDSP_AID_RELIEF_CAP_PERMILLE", 1500, 1, 100_000),
            community_budget_fen=env_int("CDSP_AID_COMMUNITY_BUDGET_FEN", 12_000_000),
            arrival_sla=timedelta(seconds=env_int("CDSP_AID_ARRIVAL_SLA_S", 1800, 1)),
            meeting_sla=timedelta(seconds=env_int("CDSP_AID_MEETING_SLA_S", 86400, 1)),
            scan_interval_s=env_int("CDSP_AID_SCAN_S", 30, 1),
            sickbed_interval=timedelta(days=env_int("CDSP_AID_SICKBED_INTERVAL_DAYS", 14, 1)),
            kit_low_stock=env_int("CDSP_AID_KIT_LOW_STOCK", 2),
        )


@dataclass(frozen=True)
class Aid:
    """What every aid use case needs: the database, the rules and the local time zone."""

    db: Database
    rules: AidRules
    tz: ZoneInfo

    def today(self) -> date:
        return datetime.now(self.tz).date()
