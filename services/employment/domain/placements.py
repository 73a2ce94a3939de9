"""Placements without I/O: input checks, the follow-up schedule, subsidy months, grant bounds.

Follow-up schedule: the first visit is due `follow_up_months` calendar months after the start
date, each later one that many months after the latest visit (local dates; the 31st plus a month
is the last day of a shorter month). A visit is due from the start (local midnight) of its due
date and overdue once `OVERDUE_GRACE` has passed since then.

Subsidies are pro-rata by day. A placement at a partner enterprise earns the employer its monthly
subsidy × (days of the month the placement covered ÷ days in the month), rounded down to the fen,
where a covered day lies between the start date and the end date (both inclusive: the end date
is the last day worked), within the employer's agreement, and not after today (what is owed has
been earned; a day still to come is not owed yet). A whole month covered earns exactly the
monthly subsidy. Why not whole months: a person placed on the 31st would earn a month's subsidy
for a day, and a person moving between two enterprises mid-month would earn both a full month;
by day, a person never earns more than one subsidy a month, whoever employed them.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from runtime.errors import FieldViolation, InvalidArgument, Violations

ACTIVE, ENDED = 1, 2
ENTERPRISE = 2                           # PostKind of a post at a partner enterprise
OVERDUE_GRACE = timedelta(days=7)        # a follow-up this long past due is overdue
CLOCK_SKEW = timedelta(minutes=2)
MAX_START_AHEAD = timedelta(days=92)     # a placement may be recorded up to 3 months ahead
MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_TEXT, MAX_NAME = 2000, 200

Ymd = tuple[int, int, int] | None     # a common.Date's fields; None when it was left unset


def to_date(ymd: Ymd, field: str, v: Violations) -> date | None:
    """A common.Date's (year, month, day) as a date, or a violation; None when unset."""
    if ymd is None:
        return None
    try:
        d = date(*ymd)
    except ValueError:
        v.add(field, "must be a valid date (year, month, day)")
        return None
    if not MIN_YEAR <= d.year <= MAX_YEAR:
        v.add(field, f"year must be from {MIN_YEAR} to {MAX_YEAR}")
        return None
    return d


def add_months(d: date, months: int) -> date:
    """The same day `months` calendar months later, or the month's last day when it is short."""
    index = d.year * 12 + d.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(d.day, last))


def local_midnight(d: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(d, time(), tz).astimezone(UTC)


def follow_up_due(after: date, months: int, tz: ZoneInfo) -> datetime:
    """When the next visit is due: `months` after the start date or the latest visit."""
    return local_midnight(add_months(after, months), tz)


def is_overdue(due: datetime, now: datetime) -> bool:
    return now > due + OVERDUE_GRACE


def check_start(start: date | None, today: date, v: Violations) -> date:
    if start is not None and start > today + MAX_START_AHEAD:
        v.add("start_date", f"at most {MAX_START_AHEAD.days} days ahead")
    return start or today


def check_reason(reason: str, end: date | None, today: date, v: Violations) -> None:
    v.check(bool(reason.strip()), "reason", "is required: say why the placement ended")
    v.check(len(reason) <= MAX_TEXT, "reason", f"at most {MAX_TEXT} characters")
    if end is not None:
        v.check(end <= today, "end_date", "cannot be in the future")


def check_after_start(day: date, start: date, field: str) -> None:
    if day < start:
        raise InvalidArgument([FieldViolation(field, "cannot be before the placement started "
                                                     f"({start.isoformat()})")])


def check_follow_up(visited: datetime, now: datetime, wage: int, adaptation: str,
                    rights_issues: str) -> None:
    v = Violations()
    v.check(visited <= now + CLOCK_SKEW, "visited_at", "cannot be in the future")
    v.check(wage >= 0, "monthly_wage_fen", "cannot be negative")
    v.check(bool(adaptation.strip()), "adaptation", "is required: how the person is getting on")
    v.check(len(adaptation) <= MAX_TEXT, "adaptation", f"at most {MAX_TEXT} characters")
    v.check(len(rights_issues) <= MAX_TEXT, "rights_issues", f"at most {MAX_TEXT} characters")
    v.raise_if_any()


def yuan(fen: int) -> str:
    return f"{fen // 100:,}" if fen % 100 == 0 else f"{fen / 100:,.2f}"


def check_grant(amount_fen: int, business: str, low: int, high: int) -> None:
    """Out of bounds is bad input on amount_fen, naming the bounds."""
    v = Violations()
    v.check(low <= amount_fen <= high, "amount_fen",
            f"a start-up grant is {low}-{high} fen ({yuan(low)}-{yuan(high)} yuan)")
    v.check(bool(business.strip()), "business", "is required: what the person starts")
    v.check(len(business) <= MAX_NAME, "business", f"at most {MAX_NAME} characters")
    v.raise_if_any()


def check_sale(workshop: str, amount_fen: int, sold_on: date, today: date, goods: str,
               v: Violations) -> None:
    v.check(bool(workshop.strip()), "workshop", "is required")
    v.check(len(workshop) <= MAX_NAME, "workshop", f"at most {MAX_NAME} characters")
    v.check(0 < amount_fen <= 10**10, "amount_fen", "must be more than 0 (fen)")
    v.check(sold_on <= today, "sold_on", "cannot be in the future")
    v.check(len(goods) <= MAX_NAME, "goods", f"at most {MAX_NAME} characters")


def check_year(year: int, field: str = "year") -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidArgument([FieldViolation(field, f"from {MIN_YEAR} to {MAX_YEAR}")])


def check_month(year: int, month: int) -> tuple[date, date]:
    """The month's first and last days."""
    v = Violations()
    v.check(MIN_YEAR <= year <= MAX_YEAR, "year", f"from {MIN_YEAR} to {MAX_YEAR}")
    v.check(1 <= month <= 12, "month", "from 1 to 12")
    v.raise_if_any()
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def covered_days(first: date, last: date, start: date, end: date | None,
                 agreement: tuple[date, date | None], today: date) -> int:
    """Days of [first, last] the placement covered within the agreement, up to today."""
    lo = max(first, start, agreement[0])
    hi = min(d for d in (last, end, agreement[1], today) if d is not None)
    return max(0, (hi - lo).days + 1)


def owed_in_month(monthly_fen: int, year: int, month: int, start: date, end: date | None,
                  agreement: tuple[date, date | None], today: date) -> tuple[int, int]:
    """(days covered, subsidy in fen) of one placement in one month: pro-rata by day, rounded
    down to the fen."""
    first, last = check_month(year, month)
    days = covered_days(first, last, start, end, agreement, today)
    return days, monthly_fen * days // last.day


def six_months_on(start: date) -> date:
    return add_months(start, 6)
