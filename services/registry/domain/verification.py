"""The monthly verification rule: every active record is checked each month, before the 5th.

On or after the 5th of a month, a record not verified since the 1st of that month is overdue.
Before the 5th, this month's check is not yet due, so only a record not verified since the 1st of
the previous month is overdue. Months are those of the local time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

DUE_DAY = 5


def verified_since_cutoff(now: datetime, tz: ZoneInfo) -> datetime:
    """The instant (UTC) a record must have been verified after to not be overdue at `now`."""
    local = now.astimezone(tz)
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if local.day < DUE_DAY:
        first = (first - timedelta(days=1)).replace(day=1)
    return first.astimezone(UTC)


@dataclass(frozen=True)
class CheckMonth:
    """A local month's check of every active record: it opens on the 1st and is due by the 5th
    (00:00 local time, held in UTC); a record verified since the 1st has had it."""

    first: date          # the 1st of the month, local calendar
    opens_at: datetime   # the 1st, 00:00 local, in UTC
    due_by: datetime     # the 5th, 00:00 local, in UTC

    @property
    def label(self) -> str:
        return f"{self.first:%Y-%m}"

    def is_due(self, last_verified_at: datetime | None) -> bool:
        """Whether a record verified last at `last_verified_at` still needs this month's check."""
        return last_verified_at is None or last_verified_at < self.opens_at


def check_month(now: datetime, tz: ZoneInfo) -> CheckMonth:
    """The month whose check is under way at `now` (local calendar)."""
    local = now.astimezone(tz)
    first = datetime(local.year, local.month, 1, tzinfo=tz)
    due = datetime(local.year, local.month, DUE_DAY, tzinfo=tz)
    return CheckMonth(first.date(), first.astimezone(UTC), due.astimezone(UTC))
