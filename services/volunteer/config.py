"""The volunteer service's rules (environment variables) and what its use cases share.

    CDSP_VOLUNTEER_VISIT_HOURS    the longest gap between visits, per risk colour, in hours
                                  (red:24,yellow:84,green:720 — daily, twice a week, monthly)
    CDSP_VOLUNTEER_ALONE_HOURS    the longest gap for a person living alone, whatever their
                                  colour (24: plan 000, "each day by phone or a visit")
    CDSP_VOLUNTEER_LOAD           default and bounds of a volunteer's load: persons paired
                                  with them as the visiting volunteer (5, within 3-5)
    CDSP_VOLUNTEER_SCAN_S         how often missed visits are looked for (300: well within the
                                  hour the issue allows)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

from runtime.db import Database
from runtime.settings import SettingsError, env_int

GREEN, YELLOW, RED = 1, 2, 3
COLOUR_NAMES = {GREEN: "green", YELLOW: "yellow", RED: "red"}


def _visit_hours(raw: str) -> dict[int, int]:
    by_name = {v: k for k, v in COLOUR_NAMES.items()}
    found: dict[int, int] = {}
    try:
        for part in raw.split(","):
            name, hours = part.split(":")
            found[by_name[name.strip()]] = int(hours)
    except (ValueError, KeyError):
        raise SettingsError("CDSP_VOLUNTEER_VISIT_HOURS must look like "
                            "red:24,yellow:84,green:720") from None
    if set(found) != set(COLOUR_NAMES) or not all(0 < h <= 24 * 366 for h in found.values()):
        raise SettingsError("CDSP_VOLUNTEER_VISIT_HOURS needs red, yellow and green, each "
                            "1 hour to a year")
    if not found[RED] <= found[YELLOW] <= found[GREEN]:
        raise SettingsError("CDSP_VOLUNTEER_VISIT_HOURS: red visits must be at least as "
                            "frequent as yellow, and yellow as green")
    return found


@dataclass(frozen=True)
class VolunteerRules:
    visit_hours: dict[int, int] = field(default_factory=lambda: {RED: 24, YELLOW: 84,
                                                                 GREEN: 720})
    default_load: int = 5
    min_load: int = 3
    max_load: int = 5
    scan_s: int = 300
    alone_hours: int = 24

    def hours_for(self, living_alone: bool) -> dict[int, int]:
        """The longest gap per colour for this person: a person living alone is called or
        visited daily (plan 000) whatever the colour; the colour still says the risk."""
        if not living_alone:
            return self.visit_hours
        return {colour: min(hours, self.alone_hours) for colour, hours in
                self.visit_hours.items()}

    @classmethod
    def from_env(cls) -> VolunteerRules:
        raw = os.environ.get("CDSP_VOLUNTEER_LOAD", "5")
        rules = cls(visit_hours=_visit_hours(os.environ.get("CDSP_VOLUNTEER_VISIT_HOURS",
                                                            "red:24,yellow:84,green:720")),
                    default_load=env_int("CDSP_VOLUNTEER_LOAD", 5, 1, 50) if raw else 5,
                    scan_s=env_int("CDSP_VOLUNTEER_SCAN_S", 300, 1, 86_400),
                    alone_hours=env_int("CDSP_VOLUNTEER_ALONE_HOURS", 24, 1, 24 * 31))
        if not rules.min_load <= rules.default_load <= rules.max_load:
            return replace(rules, min_load=min(rules.min_load, rules.default_load),
                           max_load=max(rules.max_load, rules.default_load))
        return rules


@dataclass
class Volunteers:
    """What the volunteer use cases share."""

    db: Database
    rules: VolunteerRules
    local_tz: ZoneInfo
