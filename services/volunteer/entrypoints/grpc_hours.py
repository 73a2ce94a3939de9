"""VolunteerService methods for service hours and the yearly summary."""

from __future__ import annotations

from typing import TypeAlias

import grpc

from cdsp.volunteer.v1 import volunteer_pb2 as pb
from runtime.auth import current_caller
from volunteer.config import Volunteers
from volunteer.service import hours

Ctx: TypeAlias = grpc.aio.ServicerContext


class HourMethods:
    v: Volunteers

    async def GetServiceHours(self, request: pb.GetServiceHoursRequest, context: Ctx
                              ) -> pb.ServiceHours:
        minutes, visits, volunteers = await hours.service_hours(
            self.v, current_caller(), request.volunteer_id, request.team, request.year)
        return pb.ServiceHours(minutes=minutes, visits=visits, volunteers=volunteers)

    async def GetYearlySummary(self, request: pb.GetYearlySummaryRequest, context: Ctx
                               ) -> pb.YearlySummary:
        (active, visits, minutes, covered, red, red_covered) = await hours.yearly_summary(
            self.v, current_caller(), request.year, request.jurisdiction_path)
        return pb.YearlySummary(year=request.year, jurisdiction_path=request.jurisdiction_path,
                                volunteers_active=active, visits=visits,
                                service_minutes=minutes, persons_covered=covered,
                                red_persons=red, red_persons_covered=red_covered)
