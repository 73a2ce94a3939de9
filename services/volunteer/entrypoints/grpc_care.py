"""VolunteerService methods for volunteers and care schedules (risk colours)."""

from __future__ import annotations

from typing import TypeAlias

import grpc

from cdsp.volunteer.v1 import volunteer_pb2 as pb
from runtime.auth import current_caller
from runtime.logs import mask_personal_data
from runtime.timestamps import to_timestamp
from volunteer.adapters.person_store import PersonRow
from volunteer.adapters.volunteer_store import NewVolunteer, VolunteerRow
from volunteer.config import Volunteers
from volunteer.domain import schedule
from volunteer.service import colours, volunteers

Ctx: TypeAlias = grpc.aio.ServicerContext


def schedule_to_proto(p: PersonRow, v: Volunteers) -> pb.CareSchedule:
    return pb.CareSchedule(
        person_id=p.person_id, jurisdiction_path=p.jurisdiction_path,
        colour=p.colour,  # type: ignore[arg-type]
        colour_reason=p.colour_reason, last_visit_at=to_timestamp(p.last_visit_at),
        next_due_at=to_timestamp(p.next_due_at), living_alone=p.living_alone,
        severe=1 <= p.grade <= 2,
        required_visits_per_week=schedule.visits_per_week(
            p.colour, v.rules.hours_for(p.living_alone)))


def volunteer_to_proto(row: VolunteerRow) -> pb.Volunteer:
    return pb.Volunteer(
        volunteer_id=row.volunteer_id, name=row.name, kind=row.kind,  # type: ignore[arg-type]
        phone=mask_personal_data(row.phone), skills=row.skills,
        availability=pb.Availability(weekdays=row.weekdays, hours=row.hours),
        grid_paths=row.grid_paths, verified=row.verified, max_load=row.max_load, load=row.load,
        service_minutes=row.service_minutes, team=row.team,
        registered_at=to_timestamp(row.registered_at))


class CareMethods:
    v: Volunteers

    async def RegisterVolunteer(self, request: pb.RegisterVolunteerRequest, context: Ctx
                                ) -> pb.Volunteer:
        row = await volunteers.register(self.v, current_caller(), NewVolunteer(
            request.name, request.kind, request.phone, list(request.skills),
            list(request.availability.weekdays), request.availability.hours,
            list(request.grid_paths), request.team, request.max_load))
        return volunteer_to_proto(row)

    async def GetVolunteer(self, request: pb.GetVolunteerRequest, context: Ctx
                           ) -> pb.Volunteer:
        return volunteer_to_proto(await volunteers.get(self.v, current_caller(),
                                                       request.volunteer_id))

    async def VerifyVolunteer(self, request: pb.VerifyVolunteerRequest, context: Ctx
                              ) -> pb.Volunteer:
        return volunteer_to_proto(await volunteers.verify(self.v, current_caller(),
                                                          request.volunteer_id))

    async def SetRiskColour(self, request: pb.SetRiskColourRequest, context: Ctx
                            ) -> pb.CareSchedule:
        person = await colours.set_colour(self.v, current_caller(), request.person_id,
                                          request.colour, request.reason)
        return schedule_to_proto(person, self.v)

    async def GetCareSchedule(self, request: pb.GetCareScheduleRequest, context: Ctx
                              ) -> pb.CareSchedule:
        person = await colours.get_schedule(self.v, current_caller(), request.person_id)
        return schedule_to_proto(person, self.v)
