"""Training courses and their enrolments: the rules, without I/O.

A course has `capacity` seats. An enrolment holds a seat while ENROLLED or COMPLETED; when every
seat is taken a person goes on the waiting list (if the caller allows it), at the next position:
positions are 1..waiting, 1 being the next to get a seat, in the order persons enrolled. A course
is for the residents of its jurisdiction: the person's path must lie at or below the course's.
Attendance is recorded per session (one record per enrolment and day, 1-12 hours, a day that is
neither in the future nor before the course starts); a course is completed when the hours
attended reach `completion_percent` of its class hours, rounded up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from employment.domain.assessment import TRACK_NAMES
from runtime.auth import is_valid_path
from runtime.errors import FailedPrecondition, Violations

ENROLLED, WAITLISTED, WITHDRAWN, COMPLETED = 1, 2, 3, 4
STATUS_NAMES = {ENROLLED: "enrolled", WAITLISTED: "waitlisted", WITHDRAWN: "withdrawn",
                COMPLETED: "completed"}
MAX_TITLE, MAX_SCHEDULE = 100, 200
MIN_CAPACITY, MAX_CAPACITY = 1, 500
MIN_CLASS_HOURS, MAX_CLASS_HOURS = 1, 1000
MIN_SESSION_HOURS, MAX_SESSION_HOURS = 1, 12


@dataclass(frozen=True)
class NewCourse:
    title: str
    jurisdiction_path: str
    capacity: int
    class_hours: int
    starts_at: datetime
    ends_at: datetime
    schedule: str
    track: int


def validate_course(title: str, jurisdiction_path: str, capacity: int, class_hours: int,
                    starts_at: datetime | None, ends_at: datetime | None, schedule: str,
                    track: int) -> NewCourse:
    """Every bad field at once (InvalidArgument); the title and schedule come back stripped."""
    v = Violations()
    title, schedule = title.strip(), schedule.strip()
    v.check(1 <= len(title) <= MAX_TITLE, "title", f"required, at most {MAX_TITLE} characters")
    v.check(is_valid_path(jurisdiction_path), "jurisdiction_path",
            "must look like /3505/350502/ (codes between slashes)")
    v.check(MIN_CAPACITY <= capacity <= MAX_CAPACITY, "capacity",
            f"{MIN_CAPACITY} to {MAX_CAPACITY} seats")
    v.check(MIN_CLASS_HOURS <= class_hours <= MAX_CLASS_HOURS, "class_hours",
            f"{MIN_CLASS_HOURS} to {MAX_CLASS_HOURS} hours")
    v.check(starts_at is not None, "starts_at", "required")
    v.check(ends_at is not None, "ends_at", "required")
    if starts_at is not None and ends_at is not None:
        v.check(starts_at < ends_at, "ends_at", "must be after starts_at")
    v.check(len(schedule) <= MAX_SCHEDULE, "schedule", f"at most {MAX_SCHEDULE} characters")
    v.check(track == 0 or track in TRACK_NAMES, "track",
            "0 (none) or one of technical, auxiliary, new_economy, home_based")
    v.raise_if_any()
    assert starts_at is not None and ends_at is not None
    return NewCourse(title, jurisdiction_path, capacity, class_hours, starts_at, ends_at,
                     schedule, track)


def require_for_residents(course_path: str, person_path: str) -> None:
    """A course is for the residents of its jurisdiction (the person's path lies under it)."""
    if not person_path.startswith(course_path):
        raise FailedPrecondition(f"the course is for residents of {course_path}; the person "
                                 f"lives in {person_path}, outside it")


def require_not_ended(ends_at: datetime, now: datetime) -> None:
    if ends_at <= now:
        raise FailedPrecondition(f"the course ended at {ends_at.isoformat()}: no more "
                                 "enrolments")


def place(capacity: int, seats_taken: int, waiting: int, allow_waitlist: bool
          ) -> tuple[int, int | None]:
    """(status, waiting-list position) of a new enrolment, or FAILED_PRECONDITION when full."""
    if seats_taken < capacity:
        return ENROLLED, None
    if not allow_waitlist:
        raise FailedPrecondition(f"the course is full: all {capacity} seats (its capacity) "
                                 f"are taken and {waiting} waiting; set allow_waitlist to join "
                                 "the waiting list")
    return WAITLISTED, waiting + 1


def require_status(status: int, allowed: tuple[int, ...], action: str) -> None:
    if status not in allowed:
        wanted = " or ".join(STATUS_NAMES[s] for s in allowed)
        raise FailedPrecondition(f"the enrolment is {STATUS_NAMES.get(status, status)}: only "
                                 f"an enrolment that is {wanted} can {action}")


def session_day(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def validate_attendance(hours: int, day: date | None, today: date) -> date:
    """One session's hours and day (the day in the service's local time zone)."""
    v = Violations()
    v.check(MIN_SESSION_HOURS <= hours <= MAX_SESSION_HOURS, "hours",
            f"{MIN_SESSION_HOURS} to {MAX_SESSION_HOURS} class hours in one session")
    if v.check(day is not None, "session_date", "required: a valid date"):
        assert day is not None
        v.check(day <= today, "session_date", f"cannot be in the future (today is {today})")
    v.raise_if_any()
    assert day is not None
    return day


def require_after_start(day: date, course_start: date) -> None:
    v = Violations()
    v.check(day >= course_start, "session_date",
            f"cannot be before the course starts ({course_start})")
    v.raise_if_any()


def require_within_class_hours(attended: int, hours: int, class_hours: int) -> None:
    if attended + hours > class_hours:
        raise FailedPrecondition(f"{hours} more hours would make {attended + hours} attended, "
                                 f"more than the course's {class_hours} class hours")


def hours_needed(class_hours: int, completion_percent: int) -> int:
    """The hours to attend to complete: `completion_percent` of the class hours, rounded up."""
    return max(1, -(-class_hours * completion_percent // 100))


def require_completable(attended: int, class_hours: int, completion_percent: int) -> None:
    needed = hours_needed(class_hours, completion_percent)
    if attended < needed:
        raise FailedPrecondition(f"attended {attended} class hours, {needed} needed to "
                                 f"complete ({completion_percent}% of {class_hours})")
