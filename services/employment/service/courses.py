"""Training courses: creating them, enrolling (a seat or the waiting list), withdrawing (the
first waiting gets the seat), attendance and completion.

Every change of a course's enrolments runs under the course's row lock, taken first, so the
seats are never over-given under concurrent enrolments (the database refuses it too: see
migration 0004). A course is for the residents of its jurisdiction; a caller enrols persons of
their own jurisdictions into the courses of those jurisdictions or of the ones above them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import NoReturn

from cdsp.events.v1 import employment_pb2 as ev
from employment.adapters import course_store
from employment.adapters.course_store import CourseRow, EnrolmentRow
from employment.config import Employment
from employment.domain import courses
from employment.domain.courses import ENROLLED, WAITLISTED
from employment.service.access import MANAGER_ROLES, READ_ROLES, WORKER_ROLES, load_candidate
from employment.service.access import require_working_age as working_age
from runtime.auth import Caller
from runtime.db import UnitOfWork
from runtime.errors import AlreadyExists, NotFound, PermissionDenied, Violations
from runtime.inputs import require_uuid
from runtime.timestamps import to_timestamp


def _require_ids(**ids: str) -> None:
    """Every id that is not a UUID at once."""
    v = Violations()
    for field, value in ids.items():
        try:
            uuid.UUID(value)
        except ValueError:
            v.add(field, "must be a UUID")
    v.raise_if_any()


def _not_visible(path: str | None, what: str, key: str) -> NoReturn:
    if path is not None:
        raise PermissionDenied(f"that {what} is outside your jurisdictions")
    raise NotFound(f"no {what} {key}")


async def _load_course(uow: UnitOfWork, course_id: str, lock: bool = False) -> CourseRow:
    require_uuid(course_id, "course_id")
    course = await course_store.get_course(uow, course_id, lock=lock)
    if course is not None:
        return course
    _not_visible(await course_store.course_anywhere(uow, course_id), "course", course_id)


async def _load_enrolment(uow: UnitOfWork, enrolment_id: str, lock: bool = False
                          ) -> EnrolmentRow:
    require_uuid(enrolment_id, "enrolment_id")
    found = await course_store.get_enrolment(uow, enrolment_id, lock=lock)
    if found is not None:
        return found
    _not_visible(await course_store.enrolment_anywhere(uow, enrolment_id), "enrolment",
                       enrolment_id)


def _record_enrolled(uow: UnitOfWork, e: EnrolmentRow, course: CourseRow) -> None:
    uow.record(ev.Enrolled(enrolment_id=e.enrolment_id, course_id=e.course_id,
                           person_id=e.person_id, waitlisted=e.status == WAITLISTED,
                           course_title=course.title, starts_at=to_timestamp(course.starts_at)),
               aggregate_type="course_enrolment", aggregate_id=e.enrolment_id,
               version=e.version, jurisdiction_path=e.jurisdiction_path)


async def create_course(emp: Employment, caller: Caller, title: str, path: str, capacity: int,
                        class_hours: int, starts_at: datetime | None, ends_at: datetime | None,
                        schedule: str, track: int) -> CourseRow:
    caller.require_role(*MANAGER_ROLES)
    new = courses.validate_course(title, path, capacity, class_hours, starts_at, ends_at,
                                  schedule, track)
    caller.require_scope(new.jurisdiction_path, "that jurisdiction")
    async with emp.db.unit_of_work(caller) as uow:
        return await course_store.insert_course(uow, new)


async def get_course(emp: Employment, caller: Caller, course_id: str) -> CourseRow:
    caller.require_role(*READ_ROLES)
    async with emp.db.unit_of_work(caller) as uow:
        return await _load_course(uow, course_id)


async def enrol(emp: Employment, caller: Caller, course_id: str, person_id: str,
                allow_waitlist: bool) -> EnrolmentRow:
    caller.require_role(*WORKER_ROLES)
    _require_ids(course_id=course_id, person_id=person_id)
    now = datetime.now(UTC)
    async with emp.db.unit_of_work(caller) as uow:
        candidate = await load_candidate(uow, person_id)
        working_age(emp, candidate, now.astimezone(emp.local_tz).date())
        course = await _load_course(uow, course_id, lock=True)
        courses.require_for_residents(course.jurisdiction_path, candidate.jurisdiction_path)
        courses.require_not_ended(course.ends_at, now)
        current = await course_store.current_enrolment(uow, course.course_id,
                                                       candidate.person_id)
        if current is not None:
            raise AlreadyExists(f"the person already has enrolment {current.enrolment_id} in "
                                f"this course ({courses.STATUS_NAMES[current.status]})")
        status, position = courses.place(course.capacity, course.seats_taken, course.waiting,
                                         allow_waitlist)
        made = await course_store.insert_enrolment(uow, course.course_id, candidate.person_id,
                                                   candidate.jurisdiction_path, status, position)
        if made is None:
            raise AlreadyExists("the person already has an enrolment in this course")
        _record_enrolled(uow, made, course)
        return made


async def withdraw(emp: Employment, caller: Caller, enrolment_id: str) -> EnrolmentRow:
    """Frees the seat (or the place in the queue); the first waiting gets a freed seat."""
    caller.require_role(*WORKER_ROLES)
    async with emp.db.unit_of_work(caller) as uow:
        seen = await _load_enrolment(uow, enrolment_id)
        await _load_course(uow, seen.course_id, lock=True)  # the course first, then the row
        before = await _load_enrolment(uow, enrolment_id, lock=True)
        courses.require_status(before.status, (ENROLLED, WAITLISTED), "be withdrawn")
        withdrawn = await course_store.withdraw(uow, before.enrolment_id)
        course = await _load_course(uow, seen.course_id)
        for promoted in await course_store.promote(uow, course.course_id,
                                                   course.capacity - course.seats_taken):
            _record_enrolled(uow, promoted, course)
        return withdrawn


async def record_attendance(emp: Employment, caller: Caller, enrolment_id: str, hours: int,
                            ymd: tuple[int, int, int] | None) -> EnrolmentRow:
    caller.require_role(*WORKER_ROLES)
    require_uuid(enrolment_id, "enrolment_id")
    today = datetime.now(emp.local_tz).date()
    day = courses.validate_attendance(hours, courses.session_day(*ymd) if ymd else None, today)
    async with emp.db.unit_of_work(caller) as uow:
        e = await _load_enrolment(uow, enrolment_id, lock=True)
        courses.require_status(e.status, (ENROLLED,), "have attendance recorded")
        course = await _load_course(uow, e.course_id)
        courses.require_after_start(day, course.starts_at.astimezone(emp.local_tz).date())
        courses.require_within_class_hours(e.hours_attended, hours, course.class_hours)
        updated = await course_store.add_attendance(uow, e, day, hours)
        if updated is None:
            already = await course_store.hours_on(uow, e.enrolment_id, day)
            raise AlreadyExists(f"attendance on {day} is already recorded ({already} hours)")
        return updated


async def complete(emp: Employment, caller: Caller, enrolment_id: str) -> EnrolmentRow:
    caller.require_role(*WORKER_ROLES)
    async with emp.db.unit_of_work(caller) as uow:
        e = await _load_enrolment(uow, enrolment_id, lock=True)
        courses.require_status(e.status, (ENROLLED,), "be completed")
        course = await _load_course(uow, e.course_id)
        courses.require_completable(e.hours_attended, course.class_hours,
                                    emp.rules.completion_percent)
        done = await course_store.complete(uow, e.enrolment_id)
        uow.record(ev.CourseCompleted(enrolment_id=done.enrolment_id, course_id=done.course_id,
                                      person_id=done.person_id,
                                      hours_attended=done.hours_attended),
                   aggregate_type="course_enrolment", aggregate_id=done.enrolment_id,
                   version=done.version, jurisdiction_path=done.jurisdiction_path)
        return done


async def list_enrolments(emp: Employment, caller: Caller, course_id: str
                          ) -> list[EnrolmentRow]:
    """The enrolments of the caller's persons in the course."""
    caller.require_role(*READ_ROLES)
    async with emp.db.unit_of_work(caller) as uow:
        course = await _load_course(uow, course_id)
        return await course_store.list_enrolments(uow, course.course_id)
