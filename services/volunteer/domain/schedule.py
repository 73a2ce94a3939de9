"""Risk colours and the visit schedule they set.

A person is cared for when they live alone or are severely disabled (grade 1-2): green at least,
so visited at least monthly; a worker can set any colour (with a reason), and an aid warning
raises it (red → red, orange or yellow → yellow), never lowers it. The next visit is due one
interval of the colour after the last visit (or after the colour was set, before any visit); a
colour raised brings the due time forward, never back.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from volunteer.config import COLOUR_NAMES, GREEN, RED, YELLOW

# aid's WarningLevel (yellow 1, orange 2, red 3) → the colour it raises a person to
AID_LEVEL_COLOUR = {1: YELLOW, 2: YELLOW, 3: RED}


def cared_for(living_alone: bool, grade: int) -> bool:
    return living_alone or 1 <= grade <= 2


def base_colour(living_alone: bool, grade: int) -> int:
    """The colour a person starts with: green when cared for, none otherwise."""
    return GREEN if cared_for(living_alone, grade) else 0


def interval(colour: int, visit_hours: dict[int, int]) -> timedelta:
    return timedelta(hours=visit_hours[colour])


def next_due(colour: int, last_visit: datetime | None, since: datetime,
             visit_hours: dict[int, int]) -> datetime | None:
    """When the next visit is due at the latest (None for a person not cared for)."""
    if colour == 0:
        return None
    return (last_visit or since) + interval(colour, visit_hours)


def after_colour_change(current_due: datetime | None, previous: int, colour: int,
                        now: datetime, last_visit: datetime | None,
                        visit_hours: dict[int, int]) -> datetime | None:
    """The due time once the colour changes at `now`. Raised: within one interval of the new
    colour from now, or sooner if already due sooner (never retroactively overdue). Lowered or
    first set: one interval of the new colour after the last visit (or from now)."""
    if colour == 0:
        return None
    soonest = now + interval(colour, visit_hours)
    if colour > previous and current_due is not None:
        return min(current_due, soonest)
    return next_due(colour, last_visit, now, visit_hours)


def raised(current: int, proposed: int) -> bool:
    return proposed > current


def visits_per_week(colour: int, visit_hours: dict[int, int]) -> int:
    """How many visits a week the colour calls for at least (0 when less than weekly)."""
    if colour == 0:
        return 0
    return int(168 // visit_hours[colour])


def colour_name(colour: int) -> str:
    return COLOUR_NAMES.get(colour, "none")
