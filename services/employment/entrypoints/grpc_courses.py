"""EmploymentService methods for training courses and their enrolments."""

from __future__ import annotations

from datetime import datetime
from typing import TypeAlias

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from cdsp.employment.v1 import employment_pb2 as pb
from employment.adapters.course_store import CourseRow, EnrolmentRow
from employment.config import Employment
from employment.service import courses
from runtime.auth import current_caller
from runtime.errors import Violations
from runtime.timestamps import from_timestamp, to_timestamp

Ctx: TypeAlias = grpc.aio.ServicerContext


def course_to_proto(c: CourseRow) -> pb.Course:
    return pb.Course(course_id=c.course_id, title=c.title, jurisdiction_path=c.jurisdiction_path,
                     capacity=c.capacity, class_hours=c.class_hours,
                     starts_at=to_timestamp(c.starts_at), ends_at=to_timestamp(c.ends_at),
                     schedule=c.schedule, track=c.track,  # type: ignore[arg-type]
                     seats_taken=c.seats_taken, waiting=c.waiting)


def enrolment_to_proto(e: EnrolmentRow) -> pb.Enrolment:
    return pb.Enrolment(enrolment_id=e.enrolment_id, course_id=e.course_id,
                        person_id=e.person_id, status=e.status,  # type: ignore[arg-type]
                        waitlist_position=e.waitlist_position, hours_attended=e.hours_attended,
                        enrolled_at=to_timestamp(e.enrolled_at),
                        completed_at=to_timestamp(e.completed_at))


def _times(request: pb.CreateCourseRequest) -> tuple[datetime | None, datetime | None]:
    """starts_at and ends_at (None when unset); InvalidArgument for a time out of range."""
    v = Violations()
    found: list[datetime | None] = []
    for field in ("starts_at", "ends_at"):
        ts: Timestamp = getattr(request, field)
        try:
            found.append(from_timestamp(ts, request.HasField(field)))
        except (ValueError, OverflowError):
            v.add(field, "not a valid time")
            found.append(None)
    v.raise_if_any()
    return found[0], found[1]


class CourseMethods:
    emp: Employment

    async def CreateCourse(self, request: pb.CreateCourseRequest, context: Ctx) -> pb.Course:
        starts_at, ends_at = _times(request)
        return course_to_proto(await courses.create_course(
            self.emp, current_caller(), request.title, request.jurisdiction_path,
            request.capacity, request.class_hours, starts_at, ends_at, request.schedule,
            request.track))

    async def GetCourse(self, request: pb.GetCourseRequest, context: Ctx) -> pb.Course:
        return course_to_proto(await courses.get_course(self.emp, current_caller(),
                                                        request.course_id))

    async def Enrol(self, request: pb.EnrolRequest, context: Ctx) -> pb.Enrolment:
        return enrolment_to_proto(await courses.enrol(
            self.emp, current_caller(), request.course_id, request.person_id,
            request.allow_waitlist))

    async def Withdraw(self, request: pb.WithdrawRequest, context: Ctx) -> pb.Enrolment:
        return enrolment_to_proto(await courses.withdraw(self.emp, current_caller(),
                                                         request.enrolment_id))

    async def RecordAttendance(self, request: pb.RecordAttendanceRequest, context: Ctx
                               ) -> pb.Enrolment:
        d = request.session_date
        ymd = (d.year, d.month, d.day) if request.HasField("session_date") else None
        return enrolment_to_proto(await courses.record_attendance(
            self.emp, current_caller(), request.enrolment_id, request.hours, ymd))

    async def CompleteCourse(self, request: pb.CompleteCourseRequest, context: Ctx
                             ) -> pb.Enrolment:
        return enrolment_to_proto(await courses.complete(self.emp, current_caller(),
                                                         request.enrolment_id))

    async def ListEnrolments(self, request: pb.ListEnrolmentsRequest, context: Ctx
                             ) -> pb.ListEnrolmentsResponse:
        found = await courses.list_enrolments(self.emp, current_caller(), request.course_id)
        return pb.ListEnrolmentsResponse(enrolments=[enrolment_to_proto(e) for e in found])
