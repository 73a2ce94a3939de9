"""Training course rules, without I/O: a course's fields, seats and the waiting list, who a
course is for, attendance sessions and completion."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from employment.domain import courses
from employment.domain.courses import COMPLETED, ENROLLED, WAITLISTED, WITHDRAWN
from runtime.errors import FailedPrecondition, InvalidArgument

START = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)
END = START + timedelta(days=60)
PATH = "/3505/350502/"


def fields(exc: pytest.ExceptionInfo[InvalidArgument]) -> dict[str, str]:
    return {v.field: v.description for v in exc.value.violations}


def course(**given: object) -> courses.NewCourse:
    values: dict[str, object] = {"title": "电商直播", "jurisdiction_path": PATH, "capacity": 20,
                                 "class_hours": 40, "starts_at": START, "ends_at": END,
                                 "schedule": "周二、周四 14:00-16:00", "track": 3}
    values.update(given)
    return courses.validate_course(**values)  # type: ignore[arg-type]


def test_a_valid_course_is_stripped_and_kept() -> None:
    made = course(title="  养老护理员 ", schedule=" 周六 ")
    assert (made.title, made.schedule, made.capacity, made.track) == ("养老护理员", "周六", 20, 3)


@pytest.mark.parametrize(("field", "value"), [
    ("title", ""), ("title", "   "), ("title", "x" * 101),
    ("jurisdiction_path", ""), ("jurisdiction_path", "3505"), ("jurisdiction_path", "/a b/"),
    ("capacity", 0), ("capacity", -1), ("capacity", 501),
    ("class_hours", 0), ("class_hours", 1001),
    ("starts_at", None), ("ends_at", None),
    ("schedule", "x" * 201),
    ("track", 5), ("track", -1),
])
def test_each_bad_course_field_is_named(field: str, value: object) -> None:
    with pytest.raises(InvalidArgument) as exc:
        course(**{field: value})
    assert set(fields(exc)) == {field}


def test_a_course_ends_after_it_starts() -> None:
    for ends in (START, START - timedelta(seconds=1)):
        with pytest.raises(InvalidArgument) as exc:
            course(ends_at=ends)
        assert fields(exc) == {"ends_at": "must be after starts_at"}


def test_course_bounds_are_accepted() -> None:
    course(title="x", capacity=1, class_hours=1, schedule="", track=0,
           ends_at=START + timedelta(seconds=1))
    course(title="x" * 100, capacity=500, class_hours=1000, schedule="y" * 200, track=4)


def test_every_bad_course_field_is_reported_at_once() -> None:
    with pytest.raises(InvalidArgument) as exc:
        courses.validate_course("", "x", 0, 0, None, None, "s" * 201, 9)
    assert set(fields(exc)) == {"title", "jurisdiction_path", "capacity", "class_hours",
                                "starts_at", "ends_at", "schedule", "track"}


def test_seats_then_the_waiting_list_in_order() -> None:
    assert courses.place(10, 0, 0, False) == (ENROLLED, None)
    assert courses.place(10, 9, 0, False) == (ENROLLED, None)
    assert courses.place(10, 10, 0, True) == (WAITLISTED, 1)
    assert courses.place(10, 10, 4, True) == (WAITLISTED, 5)


def test_a_full_course_without_the_waiting_list_names_its_capacity() -> None:
    with pytest.raises(FailedPrecondition, match=r"all 10 seats \(its capacity\) are taken"):
        courses.place(10, 10, 3, False)


def test_a_course_is_for_residents_of_its_jurisdiction() -> None:
    courses.require_for_residents(PATH, PATH)
    courses.require_for_residents(PATH, PATH + "350502001/")
    with pytest.raises(FailedPrecondition, match="for residents of /3505/350502/"):
        courses.require_for_residents(PATH, "/3505/350503/")
    with pytest.raises(FailedPrecondition):
        courses.require_for_residents(PATH + "350502001/", PATH)


def test_an_ended_course_takes_no_enrolments() -> None:
    courses.require_not_ended(END, END - timedelta(seconds=1))
    with pytest.raises(FailedPrecondition, match="ended"):
        courses.require_not_ended(END, END)


def test_statuses_allowed_for_an_action() -> None:
    courses.require_status(ENROLLED, (ENROLLED, WAITLISTED), "be withdrawn")
    courses.require_status(WAITLISTED, (ENROLLED, WAITLISTED), "be withdrawn")
    for status in (WITHDRAWN, COMPLETED):
        with pytest.raises(FailedPrecondition, match="enrolled or waitlisted"):
            courses.require_status(status, (ENROLLED, WAITLISTED), "be withdrawn")
    with pytest.raises(FailedPrecondition, match="the enrolment is waitlisted"):
        courses.require_status(WAITLISTED, (ENROLLED,), "have attendance recorded")


@pytest.mark.parametrize("hours", [0, -1, 13])
def test_session_hours_are_1_to_12(hours: int) -> None:
    with pytest.raises(InvalidArgument) as exc:
        courses.validate_attendance(hours, date(2025, 3, 3), date(2025, 3, 3))
    assert set(fields(exc)) == {"hours"}


def test_session_hours_bounds_and_today_are_accepted() -> None:
    today = date(2025, 3, 3)
    assert courses.validate_attendance(1, today, today) == today
    assert courses.validate_attendance(12, today - timedelta(days=1), today)


def test_a_session_date_is_required_valid_and_not_in_the_future() -> None:
    today = date(2025, 3, 3)
    assert courses.session_day(2025, 2, 30) is None and courses.session_day(0, 0, 0) is None
    with pytest.raises(InvalidArgument) as exc:
        courses.validate_attendance(2, None, today)
    assert set(fields(exc)) == {"session_date"}
    with pytest.raises(InvalidArgument) as exc:
        courses.validate_attendance(0, today + timedelta(days=1), today)
    assert "future" in fields(exc)["session_date"] and "hours" in fields(exc)


def test_a_session_is_not_before_the_course_starts() -> None:
    courses.require_after_start(date(2025, 3, 1), date(2025, 3, 1))
    with pytest.raises(InvalidArgument) as exc:
        courses.require_after_start(date(2025, 2, 28), date(2025, 3, 1))
    assert "before the course starts (2025-03-01)" in fields(exc)["session_date"]


def test_attendance_cannot_exceed_the_class_hours() -> None:
    courses.require_within_class_hours(36, 4, 40)
    with pytest.raises(FailedPrecondition, match="41 attended, more than the course's 40"):
        courses.require_within_class_hours(36, 5, 40)


@pytest.mark.parametrize(("class_hours", "percent", "needed"), [
    (40, 80, 32), (10, 80, 8), (11, 80, 9), (1, 80, 1), (3, 1, 1), (7, 100, 7), (1000, 80, 800),
])
def test_hours_needed_is_the_percentage_rounded_up(class_hours: int, percent: int,
                                                   needed: int) -> None:
    assert courses.hours_needed(class_hours, percent) == needed


def test_completion_needs_enough_hours_and_says_how_many() -> None:
    courses.require_completable(32, 40, 80)
    courses.require_completable(40, 40, 80)
    with pytest.raises(FailedPrecondition,
                       match=r"attended 31 class hours, 32 needed to complete \(80% of 40\)"):
        courses.require_completable(31, 40, 80)
