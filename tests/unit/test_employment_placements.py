"""Placements without I/O: the follow-up schedule, subsidy days and fen, grant bounds, input
checks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from employment.config import EmploymentRules
from employment.domain import placements as pl
from runtime.errors import InvalidArgument, Violations

TZ = ZoneInfo("Asia/Shanghai")
ALWAYS = (date(2000, 1, 1), None)          # an agreement without an end
LATER = date(2030, 1, 1)                   # "today", after every month below


def fields(exc: pytest.ExceptionInfo[InvalidArgument]) -> dict[str, str]:
    return {v.field: v.description for v in exc.value.violations}


@pytest.mark.parametrize(("start", "months", "expected"), [
    (date(2024, 1, 15), 2, date(2024, 3, 15)),
    (date(2024, 12, 31), 2, date(2025, 2, 28)),    # clamped to a short month, across a year
    (date(2023, 12, 31), 2, date(2024, 2, 29)),    # a leap year's February
    (date(2024, 8, 31), 6, date(2025, 2, 28)),
    (date(2024, 11, 30), 1, date(2024, 12, 30)),
])
def test_add_months_keeps_the_day_or_takes_the_last_of_a_short_month(
        start: date, months: int, expected: date) -> None:
    assert pl.add_months(start, months) == expected


def test_the_first_follow_up_is_due_at_local_midnight_months_after_the_start() -> None:
    due = pl.follow_up_due(date(2024, 1, 15), EmploymentRules().follow_up_months, TZ)
    assert due == datetime(2024, 3, 14, 16, 0, tzinfo=UTC)   # 15 March 00:00 in Shanghai
    assert due.astimezone(TZ).date() == date(2024, 3, 15)


def test_after_a_visit_the_next_is_due_months_after_the_visit_day() -> None:
    visited = datetime(2024, 3, 20, 17, 30, tzinfo=UTC)      # 21 March 01:30 in Shanghai
    assert pl.follow_up_due(visited.astimezone(TZ).date(), 2, TZ).astimezone(TZ).date() == \
        date(2024, 5, 21)


def test_overdue_only_after_the_grace() -> None:
    due = datetime(2024, 3, 14, 16, 0, tzinfo=UTC)
    assert not pl.is_overdue(due, due + timedelta(days=1))
    assert not pl.is_overdue(due, due + pl.OVERDUE_GRACE)
    assert pl.is_overdue(due, due + pl.OVERDUE_GRACE + timedelta(seconds=1))


def test_a_whole_month_earns_exactly_the_monthly_subsidy() -> None:
    assert pl.owed_in_month(200_000, 2024, 2, date(2023, 5, 1), None, ALWAYS, LATER) == \
        (29, 200_000)
    assert pl.owed_in_month(200_000, 2024, 3, date(2024, 3, 1), date(2024, 3, 31), ALWAYS,
                            LATER) == (31, 200_000)


def test_part_months_are_pro_rata_by_day_rounded_down_and_the_end_day_counts() -> None:
    # Placed on the 31st: one day of 31.
    assert pl.owed_in_month(200_000, 2024, 1, date(2024, 1, 31), None, ALWAYS, LATER) == \
        (1, 6451)
    # Ended on 10 April (the last day worked): 10 days of 30.
    assert pl.owed_in_month(300_000, 2024, 4, date(2024, 1, 2), date(2024, 4, 10), ALWAYS,
                            LATER) == (10, 100_000)
    # Moving from one enterprise to another mid-month never earns more than one month.
    first = pl.owed_in_month(200_000, 2024, 6, date(2024, 1, 1), date(2024, 6, 15), ALWAYS,
                             LATER)[1]
    second = pl.owed_in_month(200_000, 2024, 6, date(2024, 6, 16), None, ALWAYS, LATER)[1]
    assert first + second <= 200_000 and first == second == 100_000


def test_days_outside_the_placement_the_agreement_or_after_today_are_not_owed() -> None:
    assert pl.owed_in_month(200_000, 2024, 5, date(2024, 6, 1), None, ALWAYS, LATER) == (0, 0)
    assert pl.owed_in_month(200_000, 2024, 5, date(2024, 1, 1), date(2024, 4, 30), ALWAYS,
                            LATER) == (0, 0)
    agreement = (date(2024, 5, 11), date(2024, 5, 20))
    assert pl.owed_in_month(310_000, 2024, 5, date(2024, 1, 1), None, agreement, LATER) == \
        (10, 100_000)
    assert pl.owed_in_month(310_000, 2024, 5, date(2024, 1, 1), None, ALWAYS,
                            date(2024, 5, 3)) == (3, 30_000)


@pytest.mark.parametrize("amount", [500_000, 1_234_500, 2_000_000])
def test_grants_within_the_bounds_pass(amount: int) -> None:
    rules = EmploymentRules()
    pl.check_grant(amount, "网店", rules.grant_min_fen, rules.grant_max_fen)


@pytest.mark.parametrize("amount", [0, -1, 499_999, 2_000_001])
def test_grants_out_of_bounds_are_bad_amounts_naming_the_bounds(amount: int) -> None:
    with pytest.raises(InvalidArgument) as exc:
        pl.check_grant(amount, "网店", 500_000, 2_000_000)
    assert fields(exc) == {"amount_fen": "a start-up grant is 500000-2000000 fen "
                                         "(5,000-20,000 yuan)"}


def test_a_grant_needs_a_business() -> None:
    with pytest.raises(InvalidArgument) as exc:
        pl.check_grant(600_000, "  ", 500_000, 2_000_000)
    assert set(fields(exc)) == {"business"}


def test_dates_and_months_are_checked() -> None:
    v = Violations()
    assert pl.to_date((2024, 2, 30), "start_date", v) is None
    assert pl.to_date((1999, 1, 1), "sold_on", v) is None
    assert pl.to_date(None, "end_date", v) is None
    assert pl.to_date((2024, 2, 29), "x", v) == date(2024, 2, 29)
    assert [i.field for i in v.items] == ["start_date", "sold_on"]
    with pytest.raises(InvalidArgument) as exc:
        pl.check_month(1999, 13)
    assert set(fields(exc)) == {"year", "month"}
    assert pl.check_month(2024, 2) == (date(2024, 2, 1), date(2024, 2, 29))


def test_start_end_and_sale_checks() -> None:
    today = date(2024, 6, 1)
    v = Violations()
    assert pl.check_start(None, today, v) == today
    pl.check_start(today + timedelta(days=93), today, v)
    pl.check_reason(" ", today + timedelta(days=1), today, v)
    pl.check_sale("", 0, today + timedelta(days=1), today, "x" * 201, v)
    assert [i.field for i in v.items] == ["start_date", "reason", "end_date", "workshop",
                                          "amount_fen", "sold_on", "goods"]
    with pytest.raises(InvalidArgument) as exc:
        pl.check_after_start(date(2024, 5, 31), today, "end_date")
    assert "2024-06-01" in fields(exc)["end_date"]
    pl.check_after_start(today, today, "end_date")


def test_follow_up_checks() -> None:
    now = datetime(2024, 6, 1, tzinfo=UTC)
    pl.check_follow_up(now + timedelta(minutes=1), now, 0, "适应良好", "")
    with pytest.raises(InvalidArgument) as exc:
        pl.check_follow_up(now + timedelta(hours=1), now, -1, " ", "x" * 2001)
    assert set(fields(exc)) == {"visited_at", "monthly_wage_fen", "adaptation", "rights_issues"}
