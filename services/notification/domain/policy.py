"""When a delivery may go out: retries with exponential backoff and jitter, quiet hours and a
per-recipient rate limit. Pure functions of the time and the counts, so they are tested alone.

- Backoff: try n (1-based) failed -> wait base * 2^(n-1), capped, times a random factor in
  [0.5, 1.5) so that many deliveries failing together do not retry together.
- Quiet hours (local time, e.g. 22:00-07:00): a normal notice on an interrupting channel (SMS,
  voice) waits until they end; urgent notices go at once.
- Rate limit: at most N notices an hour to one recipient on SMS, voice and e-mail; the next one
  waits until the oldest of the last hour is an hour old. Urgent notices are not limited.
The inbox and webhooks are never held: storing a notice in the inbox interrupts nobody, and a
webhook is a partner's system.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

INTERRUPTING = frozenset({"sms", "voice"})
RATE_LIMITED = frozenset({"sms", "voice", "email"})
HOUR = timedelta(hours=1)


def backoff(attempt: int, base_s: float, cap_s: float,
            rand: Callable[[], float] = random.random) -> timedelta:
    """How long to wait after the `attempt`-th try failed."""
    exponent = min(attempt - 1, 30)
    return timedelta(seconds=min(cap_s, base_s * 2 ** exponent) * (0.5 + rand()))


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours | None:
        """"22:00-07:00"; empty disables quiet hours. ValueError names the rule broken."""
        if not text.strip():
            return None
        try:
            start_text, end_text = text.split("-")
            start, end = time.fromisoformat(start_text.strip()), time.fromisoformat(
                end_text.strip())
        except ValueError:
            raise ValueError(f"quiet hours must look like 22:00-07:00, got {text!r}") from None
        if start == end:
            raise ValueError("quiet hours must not start and end at the same time")
        return cls(start, end)

    def until(self, now: datetime, tz: tzinfo) -> datetime | None:
        """When the quiet hours `now` falls in end (an aware datetime), or None outside them."""
        local = now.astimezone(tz)
        t = local.time().replace(tzinfo=None)
        if self.start < self.end:
            inside = self.start <= t < self.end
        else:  # over midnight
            inside = t >= self.start or t < self.end
        if not inside:
            return None
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0,
                            microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        return end


def hold_until(channel: str, urgent: bool, now: datetime, tz: tzinfo,
               quiet: QuietHours | None, sent_last_hour: list[datetime],
               per_hour: int) -> tuple[datetime | None, str]:
    """When a delivery must wait instead of going now, and why ("" when it may go)."""
    if urgent:
        return None, ""
    if quiet is not None and channel in INTERRUPTING:
        end = quiet.until(now, tz)
        if end is not None:
            return end, f"held for quiet hours until {end.strftime('%H:%M')} local time"
    if channel in RATE_LIMITED and per_hour > 0:
        recent = sorted(t for t in sent_last_hour if t > now - HOUR)
        if len(recent) >= per_hour:
            free_at = recent[len(recent) - per_hour] + HOUR
            return free_at, f"held by the rate limit of {per_hour} an hour per recipient"
    return None, ""
