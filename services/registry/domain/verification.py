"""The monthly verification rule: every active record is checked each month, before the 5th.

On or after the 5th of a month, a record not verified since the 1st of that month is overdue.
Before the 5th, this month's check is not yet due, so only a record not verified since the 1st of
the previous month is overdue. Months are those of the local time zone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

DUE_DAY = 5


def verified_since_cutoff(now: datetime, tz: ZoneInfo) -> datetime:
    """The instant (UTC) a record must have been verified after to not be overdue at `now`."""
    local = now.astimezone(tz)
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if local.day < DUE_DAY:
        first = (first - timedelta(days=1)).replace(day=1)
    return first.astimezone(UTC)
