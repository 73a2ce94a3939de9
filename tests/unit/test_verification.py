"""The monthly verification cutoff, in the local (Asia/Shanghai) calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.domain.verification import check_month, verified_since_cutoff

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize("now", [
    local(2024, 3, 1, 0, 0),
    local(2024, 3, 4, 12, 0),
    local(2024, 3, 4, 23, 59, 59, 999999),
])
def test_before_the_5th_the_cutoff_is_the_1st_of_last_month(now: datetime) -> None:
    cutoff = verified_since_cutoff(now, SHANGHAI)
    assert cutoff == utc(2024, 1, 31, 16, 0)       # 2024-02-01 00:00 in Shanghai
    assert cutoff.utcoffset() == timedelta(0)


@pytest.mark.parametrize("now", [
    local(2024, 3, 5, 0, 0),
    local(2024, 3, 15, 9, 30),
    local(2024, 3, 31, 23, 59, 59),
])
def test_from_the_5th_the_cutoff_is_the_1st_of_this_month(now: datetime) -> None:
    cutoff = verified_since_cutoff(now, SHANGHAI)
    assert cutoff == utc(2024, 2, 29, 16, 0)       # 2024-03-01 00:00 in Shanghai
    assert cutoff.utcoffset() == timedelta(0)


def test_early_january_goes_back_to_december_of_the_previous_year() -> None:
    assert verified_since_cutoff(local(2024, 1, 3, 10, 0), SHANGHAI) == utc(2023, 11, 30, 16, 0)


def test_shanghais_date_decides_not_utcs() -> None:
    # 16:00 UTC on the 4th is already 00:00 on the 5th in Shanghai.
    assert verified_since_cutoff(utc(2024, 3, 4, 16, 0), SHANGHAI) == utc(2024, 2, 29, 16, 0)
    # One second earlier it is still the 4th in Shanghai.
    assert verified_since_cutoff(utc(2024, 3, 4, 15, 59, 59), SHANGHAI) == utc(2024, 1, 31, 16, 0)


def test_utc_date_before_the_5th_in_shanghai_after_midnight_of_the_1st() -> None:
    # 17:00 UTC on the last day of a month is the 1st of the next month in Shanghai.
    assert verified_since_cutoff(utc(2024, 4, 30, 17, 0), SHANGHAI) == utc(2024, 3, 31, 16, 0)


@settings(max_examples=200, deadline=None)
@given(now=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                        timezones=st.just(UTC)))
def test_cutoff_is_a_local_first_of_month_at_most_two_months_back(now: datetime) -> None:
    cutoff = verified_since_cutoff(now, SHANGHAI)
    here, back = now.astimezone(SHANGHAI), cutoff.astimezone(SHANGHAI)
    assert cutoff.utcoffset() == timedelta(0)
    assert cutoff <= now
    assert (back.day, back.hour, back.minute, back.second, back.microsecond) == (1, 0, 0, 0, 0)
    months_back = (here.year * 12 + here.month) - (back.year * 12 + back.month)
    assert months_back == (1 if here.day < 5 else 0)


def test_a_months_check_opens_on_the_1st_and_is_due_by_the_5th_local_time() -> None:
    # 20:00 UTC on 31 May is already 1 June in Shanghai.
    month = check_month(utc(2024, 5, 31, 20, 0), SHANGHAI)
    assert (month.first.isoformat(), month.label) == ("2024-06-01", "2024-06")
    assert month.opens_at == utc(2024, 5, 31, 16, 0)
    assert month.due_by == utc(2024, 6, 4, 16, 0)
    assert month.is_due(None) and month.is_due(utc(2024, 5, 31, 15, 59))
    assert not month.is_due(utc(2024, 5, 31, 16, 0))


@settings(max_examples=200, deadline=None)
@given(now=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                        timezones=st.just(UTC)))
def test_from_the_5th_a_due_check_is_what_list_overdue_counts(now: datetime) -> None:
    month = check_month(now, SHANGHAI)
    assert month.opens_at <= now
    if now >= month.due_by:
        assert verified_since_cutoff(now, SHANGHAI) == month.opens_at
    else:
        assert verified_since_cutoff(now, SHANGHAI) < month.opens_at
