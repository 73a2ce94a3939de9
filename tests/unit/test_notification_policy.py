"""Retries, quiet hours and the rate limit of the notification dispatcher."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from notification.domain.policy import QuietHours, backoff, hold_until

SHANGHAI = ZoneInfo("Asia/Shanghai")
QUIET = QuietHours(time(22, 0), time(7, 0))


def local(hour: int, minute: int = 0, day: int = 10) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def test_backoff_doubles_is_capped_and_jittered() -> None:
    assert backoff(1, 2.0, 600, rand=lambda: 0.5) == timedelta(seconds=2)
    assert backoff(2, 2.0, 600, rand=lambda: 0.5) == timedelta(seconds=4)
    assert backoff(4, 2.0, 600, rand=lambda: 0.5) == timedelta(seconds=16)
    assert backoff(40, 2.0, 600, rand=lambda: 0.5) == timedelta(seconds=600)
    assert backoff(3, 2.0, 600, rand=lambda: 0.0) == timedelta(seconds=4)   # -50%
    assert backoff(3, 2.0, 600, rand=lambda: 0.999) > timedelta(seconds=11.9)  # +50%


def test_real_jitter_spreads_retries() -> None:
    waits = {backoff(3, 2.0, 600) for _ in range(50)}
    assert len(waits) > 40
    assert all(timedelta(seconds=4) <= w < timedelta(seconds=12) for w in waits)


@pytest.mark.parametrize("text", ["22-7", "22:00", "25:00-07:00", "07:00-07:00", "a-b"])
def test_quiet_hours_must_be_two_times(text: str) -> None:
    with pytest.raises(ValueError, match="quiet hours"):
        QuietHours.parse(text)


def test_empty_quiet_hours_means_none() -> None:
    assert QuietHours.parse("") is None
    assert QuietHours.parse("22:00-07:00") == QUIET


@pytest.mark.parametrize(("hour", "minute", "held"), [
    (21, 59, False), (22, 0, True), (23, 30, True), (0, 0, True), (6, 59, True), (7, 0, False),
    (12, 0, False)])
def test_quiet_hours_over_midnight(hour: int, minute: int, held: bool) -> None:
    until = QUIET.until(local(hour, minute), SHANGHAI)
    assert (until is not None) == held
    if until is not None:
        assert until.astimezone(SHANGHAI).time() == time(7, 0)
        assert until > local(hour, minute)
        assert until - local(hour, minute) <= timedelta(hours=9)


def test_daytime_quiet_hours() -> None:
    nap = QuietHours(time(12, 0), time(14, 0))
    assert nap.until(local(13), SHANGHAI) == local(14)
    assert nap.until(local(14), SHANGHAI) is None


def test_sms_and_voice_wait_for_the_morning_but_urgent_and_inbox_do_not() -> None:
    night = local(23)
    for channel in ("sms", "voice"):
        until, why = hold_until(channel, False, night, SHANGHAI, QUIET, [], 6)
        assert until == local(7, day=11) and "quiet hours" in why
    assert hold_until("sms", True, night, SHANGHAI, QUIET, [], 6) == (None, "")
    for channel in ("inbox", "webhook", "email"):
        assert hold_until(channel, False, night, SHANGHAI, QUIET, [], 6) == (None, "")


def test_the_rate_limit_holds_until_the_oldest_send_is_an_hour_old() -> None:
    now = local(10)
    sent = [now - timedelta(minutes=m) for m in (50, 40, 5)]
    until, why = hold_until("sms", False, now, SHANGHAI, QUIET, sent, 3)
    assert until == now + timedelta(minutes=10) and "rate limit of 3" in why
    assert hold_until("sms", False, now, SHANGHAI, QUIET, sent[1:], 3) == (None, "")
    old = [now - timedelta(minutes=61)] * 5
    assert hold_until("email", False, now, SHANGHAI, QUIET, old, 3) == (None, "")
    assert hold_until("sms", True, now, SHANGHAI, QUIET, sent, 3) == (None, "")
    assert hold_until("inbox", False, now, SHANGHAI, QUIET, sent, 3) == (None, "")
    assert hold_until("sms", False, now, SHANGHAI, QUIET, sent, 0) == (None, "")
