"""The required actions of an aid case (community intervention within 24 hours, charity relief
within 48 hours, ...): each is completed once, by a worker, with an optional note.

An action whose due time passes while it is still open is breached, and marked so once: by the
periodic scan, or — when it is completed late before the scan saw it — by the late completion
itself (the same rule as the deadlines of the 30-minute loop). A resolved case's actions are no
longer completed nor scanned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from runtime.errors import FailedPrecondition, Violations

MAX_NOTE = 1000


@dataclass
class CaseAction:
    action: str
    due_at: datetime
    completed_at: datetime | None = None
    completed_by: str = ""
    note: str = ""
    breached: bool = False

    @property
    def on_time(self) -> bool:
        return self.completed_at is not None and self.completed_at <= self.due_at


def complete(actions: list[CaseAction], action: str, note: str, at: datetime, *,
             opened_at: datetime, resolved: bool, now: datetime, skew: timedelta,
             by: str) -> tuple[CaseAction, bool]:
    """Completes `action` of a case at `at`. Bad input (every field at once) is INVALID_ARGUMENT;
    a resolved case or an action already completed is FAILED_PRECONDITION; either way nothing
    changes. Returns the action and True when this newly breaches it (completed late, and the
    scan had not marked it yet)."""
    note = note.strip()
    found = next((a for a in actions if a.action == action), None)
    v = Violations()
    v.check(found is not None, "action", "must be one of the case's actions: "
            + ", ".join(a.action for a in actions))
    if v.check(at <= now + skew, "completed_at", "cannot be in the future"):
        v.check(at >= opened_at, "completed_at", "cannot be before the case was opened")
    v.check(len(note) <= MAX_NOTE, "note", f"at most {MAX_NOTE} characters")
    v.raise_if_any()
    assert found is not None
    if resolved:
        raise FailedPrecondition("the case is resolved: its actions can no longer be completed")
    if found.completed_at is not None:
        raise FailedPrecondition(f"{action} was already completed "
                                 f"(at {found.completed_at.isoformat()})")
    found.completed_at, found.completed_by, found.note = at, by, note
    if found.on_time or found.breached:
        return found, False
    found.breached = True
    return found, True
