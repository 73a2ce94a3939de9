"""The employment service's rules (environment variables) and what its use cases share.

    CDSP_EMPLOYMENT_WORKING_AGE            working age, inclusive                     (16-59)
    CDSP_EMPLOYMENT_SUBSIDY_FEN            monthly subsidy per placed person owed to a
                                           partner enterprise, unless its agreement says
                                           otherwise                                  (200000)
    CDSP_EMPLOYMENT_GRANT_MIN_FEN / _MAX_FEN  start-up grant bounds          (500000 / 2000000)
    CDSP_EMPLOYMENT_FOLLOW_UP_MONTHS       follow-up visits after placement, every    (2)
    CDSP_EMPLOYMENT_COMPLETION_PERCENT     share of a course's class hours attended to
                                           complete it                                (80)
    CDSP_EMPLOYMENT_FOLLOW_UP_SCAN_S       how often overdue follow-ups are looked for (300)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from employment.domain.assessment import Scale, TrackRules, default_rules, default_scale
from runtime.db import Database
from runtime.settings import SettingsError, env_int


@dataclass(frozen=True)
class EmploymentRules:
    min_age: int = 16
    max_age: int = 59
    subsidy_fen: int = 200_000
    grant_min_fen: int = 500_000
    grant_max_fen: int = 2_000_000
    follow_up_months: int = 2
    completion_percent: int = 80
    follow_up_scan_s: int = 300

    @classmethod
    def from_env(cls) -> EmploymentRules:
        raw = os.environ.get("CDSP_EMPLOYMENT_WORKING_AGE", "16-59")
        try:
            low, high = (int(x) for x in raw.split("-"))
        except ValueError:
            raise SettingsError("CDSP_EMPLOYMENT_WORKING_AGE must look like 16-59") from None
        if not 0 < low < high < 120:
            raise SettingsError("CDSP_EMPLOYMENT_WORKING_AGE must be two ages, low-high")
        rules = cls(
            min_age=low, max_age=high,
            subsidy_fen=env_int("CDSP_EMPLOYMENT_SUBSIDY_FEN", 200_000, 0, 10**9),
            grant_min_fen=env_int("CDSP_EMPLOYMENT_GRANT_MIN_FEN", 500_000, 1, 10**9),
            grant_max_fen=env_int("CDSP_EMPLOYMENT_GRANT_MAX_FEN", 2_000_000, 1, 10**9),
            follow_up_months=env_int("CDSP_EMPLOYMENT_FOLLOW_UP_MONTHS", 2, 1, 24),
            completion_percent=env_int("CDSP_EMPLOYMENT_COMPLETION_PERCENT", 80, 1, 100),
            follow_up_scan_s=env_int("CDSP_EMPLOYMENT_FOLLOW_UP_SCAN_S", 300, 1, 86_400),
        )
        if rules.grant_min_fen > rules.grant_max_fen:
            raise SettingsError("CDSP_EMPLOYMENT_GRANT_MIN_FEN must not exceed _MAX_FEN")
        return rules


@dataclass
class Employment:
    """What the employment use cases share."""

    db: Database
    rules: EmploymentRules
    local_tz: ZoneInfo
    scale: Scale = field(default_factory=default_scale)
    tracks: TrackRules = field(default_factory=default_rules)
