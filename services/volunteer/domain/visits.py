"""Visit logs: what a logged visit must satisfy, and how one is told apart from another.

A visit is logged by (or for) a volunteer actively paired with the person, at a time that is
not in the future and at most MAX_AGE ago, lasting 1 to 480 minutes; one volunteer's visits
never overlap. What the visitor found is free text (health, needs, safety, and whether safety
is a concern); the follow-up needs are need codes the registry records for the person, written
as the registry writes them (lower-case letters, digits and _, 2-40 characters), at most 10.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from runtime.errors import Violations

MAX_DURATION = 480
MAX_AGE = timedelta(days=30)
CLOCK_SKEW = timedelta(minutes=2)   # a device clock a little ahead is not "in the future"
MAX_FINDING = 2000
MAX_NEEDS = 10
NEED_CODE = re.compile(r"[a-z][a-z0-9_]{1,39}")   # as the registry's need codes


@dataclass(frozen=True)
class Findings:
    health: str = ""
    needs: str = ""
    safety: str = ""
    safety_concern: bool = False


@dataclass(frozen=True)
class NewVisit:
    person_id: str
    volunteer_id: str
    by_phone: bool
    visited_at: datetime | None      # None: now
    duration_minutes: int
    findings: Findings
    follow_up_needs: list[str]


def check(visit: NewVisit, now: datetime) -> NewVisit:
    """The visit with its time set (now when unset), findings trimmed and needs de-duplicated;
    InvalidArgument naming every bad field."""
    v = Violations()
    at = visit.visited_at or now
    if at > now + CLOCK_SKEW:
        v.add("visited_at", "cannot be in the future")
    elif at < now - MAX_AGE:
        v.add("visited_at", f"at most {MAX_AGE.days} days ago")
    v.check(1 <= visit.duration_minutes <= MAX_DURATION, "duration_minutes",
            f"1 to {MAX_DURATION} minutes")
    f = visit.findings
    for name, text in (("health", f.health), ("needs", f.needs), ("safety", f.safety)):
        v.check(len(text) <= MAX_FINDING, f"findings.{name}",
                f"at most {MAX_FINDING} characters")
    for i, code in enumerate(visit.follow_up_needs):
        v.check(bool(NEED_CODE.fullmatch(code)), f"follow_up_needs[{i}]",
                "a need code such as rehabilitation or relief: lower-case letters, digits "
                "and _, 2-40 characters")
    needs = list(dict.fromkeys(visit.follow_up_needs))
    v.check(len(needs) <= MAX_NEEDS, "follow_up_needs", f"at most {MAX_NEEDS} need codes")
    v.raise_if_any()
    findings = Findings(f.health.strip(), f.needs.strip(), f.safety.strip(), f.safety_concern)
    return replace(visit, visited_at=at, findings=findings, follow_up_needs=needs)


def ends_at(visited_at: datetime, duration_minutes: int) -> datetime:
    return visited_at + timedelta(minutes=duration_minutes)


def overlaps(start: datetime, end: datetime, other_start: datetime, other_end: datetime
             ) -> bool:
    """Half-open intervals: a visit may start the minute the previous one ended."""
    return start < other_end and other_start < end


def overlap_message(other_start: datetime, other_end: datetime, tz: ZoneInfo) -> str:
    """Why a visit is refused, naming the other visit's time (local), nothing personal."""
    a, b = other_start.astimezone(tz), other_end.astimezone(tz)
    until = f"{b:%H:%M}" if a.date() == b.date() else f"{b:%Y-%m-%d %H:%M}"
    return (f"the volunteer already logged a visit from {a:%Y-%m-%d %H:%M} to {until} "
            f"({tz.key}) that overlaps this one: one volunteer's visits cannot overlap")
