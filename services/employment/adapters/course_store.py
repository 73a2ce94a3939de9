"""SQL for courses, enrolments and attendance.

A course's seats_taken and waiting are kept by a trigger on enrolments (migration 0004): the
code here never writes them. Every change of a course's enrolments happens under the course's
row lock (get_course(lock=True) first), so concurrent enrolments are serialised per course; the
waiting list is read and renumbered across every jurisdiction (a withdrawal in one grid gives
the seat to the first waiting, wherever they live).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from employment.domain.courses import COMPLETED, ENROLLED, WAITLISTED, WITHDRAWN, NewCourse
from runtime.auth import SYSTEM
from runtime.db import UnitOfWork
from runtime.sql import filed_under

_COURSE = ("course_id::text, title, jurisdiction_path, capacity, class_hours, starts_at, "
           "ends_at, schedule, track, seats_taken, waiting")
_ENROLMENT = ("enrolment_id::text, course_id::text, person_id::text, jurisdiction_path, status, "
              "coalesce(waitlist_position, 0), hours_attended, enrolled_at, completed_at, "
              "version")


@dataclass(frozen=True)
class CourseRow:
    course_id: str
    title: str
    jurisdiction_path: str
    capacity: int
    class_hours: int
    starts_at: datetime
    ends_at: datetime
    schedule: str
    track: int
    seats_taken: int
    waiting: int


@dataclass(frozen=True)
class EnrolmentRow:
    enrolment_id: str
    course_id: str
    person_id: str
    jurisdiction_path: str
    status: int
    waitlist_position: int  # 0 when not waiting
    hours_attended: int
    enrolled_at: datetime
    completed_at: datetime | None
    version: int


async def insert_course(uow: UnitOfWork, c: NewCourse) -> CourseRow:
    row = await uow.fetchone(
        "INSERT INTO courses (course_id, title, jurisdiction_path, capacity, class_hours, "
        "starts_at, ends_at, schedule, track, created_by) "
        f"VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_COURSE}",
        [str(uuid.uuid4()), c.title, c.jurisdiction_path, c.capacity, c.class_hours,
         c.starts_at, c.ends_at, c.schedule, c.track, uow.caller.subject])
    assert row is not None
    return CourseRow(*row)


async def get_course(uow: UnitOfWork, course_id: str, lock: bool = False) -> CourseRow | None:
    row = await uow.fetchone(f"SELECT {_COURSE} FROM courses WHERE course_id = %s"
                             + (" FOR UPDATE" if lock else ""), [course_id])
    return CourseRow(*row) if row else None


async def course_anywhere(uow: UnitOfWork, course_id: str) -> str | None:
    return await filed_under(uow, "courses", "course_id", course_id)


async def enrolment_anywhere(uow: UnitOfWork, enrolment_id: str) -> str | None:
    return await filed_under(uow, "enrolments", "enrolment_id", enrolment_id)


async def get_enrolment(uow: UnitOfWork, enrolment_id: str, lock: bool = False
                        ) -> EnrolmentRow | None:
    row = await uow.fetchone(f"SELECT {_ENROLMENT} FROM enrolments WHERE enrolment_id = %s"
                             + (" FOR UPDATE" if lock else ""), [enrolment_id])
    return EnrolmentRow(*row) if row else None


async def current_enrolment(uow: UnitOfWork, course_id: str, person_id: str
                            ) -> EnrolmentRow | None:
    """The person's enrolment in the course that is not withdrawn, if any."""
    row = await uow.fetchone(
        f"SELECT {_ENROLMENT} FROM enrolments WHERE course_id = %s AND person_id = %s "
        f"AND status IN ({ENROLLED}, {WAITLISTED}, {COMPLETED})", [course_id, person_id])
    return EnrolmentRow(*row) if row else None


async def insert_enrolment(uow: UnitOfWork, course_id: str, person_id: str, path: str,
                           status: int, position: int | None) -> EnrolmentRow | None:
    """The new enrolment, or None when the person already has one in the course. It is
    enrolled at the clock's time (not the transaction's start), taken under the course's lock:
    the waiting list's order is the order of enrolment times."""
    row = await uow.fetchone(
        "INSERT INTO enrolments (enrolment_id, course_id, person_id, jurisdiction_path, status, "
        "waitlist_position, enrolled_at, seated_at, enrolled_by) VALUES (%s, %s, %s, %s, %s, "
        "%s, clock_timestamp(), CASE WHEN %s THEN clock_timestamp() END, %s) "
        "ON CONFLICT (course_id, person_id) "
        f"WHERE status IN ({ENROLLED}, {WAITLISTED}, {COMPLETED}) DO NOTHING "
        f"RETURNING {_ENROLMENT}",
        [str(uuid.uuid4()), course_id, person_id, path, status, position, status == ENROLLED,
         uow.caller.subject])
    return EnrolmentRow(*row) if row else None


async def withdraw(uow: UnitOfWork, enrolment_id: str) -> EnrolmentRow:
    row = await uow.fetchone(
        f"UPDATE enrolments SET status = {WITHDRAWN}, waitlist_position = NULL, "
        "withdrawn_at = now(), version = version + 1 WHERE enrolment_id = %s "
        f"RETURNING {_ENROLMENT}", [enrolment_id])
    assert row is not None
    return EnrolmentRow(*row)


async def complete(uow: UnitOfWork, enrolment_id: str) -> EnrolmentRow:
    row = await uow.fetchone(
        f"UPDATE enrolments SET status = {COMPLETED}, completed_at = now(), "
        f"version = version + 1 WHERE enrolment_id = %s AND status = {ENROLLED} "
        f"RETURNING {_ENROLMENT}", [enrolment_id])
    assert row is not None
    return EnrolmentRow(*row)


async def promote(uow: UnitOfWork, course_id: str, seats: int) -> list[EnrolmentRow]:
    """Gives up to `seats` free seats to the first on the waiting list (whatever their
    jurisdiction) and renumbers the rest 1..n. The course must be locked by the caller."""
    await uow.with_scope(SYSTEM)
    try:
        rows = await uow.fetchall(
            f"UPDATE enrolments SET status = {ENROLLED}, waitlist_position = NULL, "
            "seated_at = now(), version = version + 1 WHERE enrolment_id IN ("
            f"SELECT enrolment_id FROM enrolments WHERE course_id = %s AND status = {WAITLISTED}"
            " ORDER BY waitlist_position, enrolled_at LIMIT %s FOR UPDATE) "
            f"RETURNING {_ENROLMENT}", [course_id, max(seats, 0)])
        await uow.execute(
            "UPDATE enrolments e SET waitlist_position = q.n FROM ("
            "SELECT enrolment_id, row_number() OVER (ORDER BY waitlist_position, enrolled_at) "
            f"AS n FROM enrolments WHERE course_id = %s AND status = {WAITLISTED}) q "
            "WHERE e.enrolment_id = q.enrolment_id AND e.waitlist_position <> q.n", [course_id])
    finally:
        await uow.with_scope(uow.caller)
    return sorted((EnrolmentRow(*r) for r in rows), key=lambda e: e.enrolled_at)


async def add_attendance(uow: UnitOfWork, e: EnrolmentRow, day: date, hours: int
                         ) -> EnrolmentRow | None:
    """Records one session and adds its hours; None when that day is already recorded."""
    row = await uow.fetchone(
        "WITH added AS (INSERT INTO course_attendance (enrolment_id, session_date, hours, "
        "jurisdiction_path, recorded_by) VALUES (%s, %s, %s, %s, %s) "
        "ON CONFLICT (enrolment_id, session_date) DO NOTHING RETURNING hours) "
        "UPDATE enrolments SET hours_attended = hours_attended + added.hours, "
        "version = version + 1 FROM added WHERE enrolment_id = %s "
        f"RETURNING {_ENROLMENT}",
        [e.enrolment_id, day, hours, e.jurisdiction_path, uow.caller.subject, e.enrolment_id])
    return EnrolmentRow(*row) if row else None


async def hours_on(uow: UnitOfWork, enrolment_id: str, day: date) -> int:
    row = await uow.fetchone("SELECT hours FROM course_attendance WHERE enrolment_id = %s "
                             "AND session_date = %s", [enrolment_id, day])
    return int(row[0]) if row else 0


async def list_enrolments(uow: UnitOfWork, course_id: str) -> list[EnrolmentRow]:
    """The caller's persons' enrolments: seats first, then the waiting list in order, then
    the withdrawn."""
    rows = await uow.fetchall(
        f"SELECT {_ENROLMENT} FROM enrolments WHERE course_id = %s ORDER BY "
        f"CASE status WHEN {WAITLISTED} THEN 1 WHEN {WITHDRAWN} THEN 2 ELSE 0 END, "
        "waitlist_position, enrolled_at, enrolment_id", [course_id])
    return [EnrolmentRow(*r) for r in rows]
