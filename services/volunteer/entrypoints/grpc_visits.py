"""VolunteerService methods for visits: logging a visit, and the visits missed in a subtree."""

from __future__ import annotations

from typing import TypeAlias

import grpc

from cdsp.volunteer.v1 import volunteer_pb2 as pb
from runtime.auth import current_caller
from runtime.timestamps import from_timestamp, to_timestamp
from volunteer.adapters.visit_store import VisitRow
from volunteer.config import Volunteers
from volunteer.domain.visits import Findings, NewVisit
from volunteer.entrypoints.grpc_care import schedule_to_proto
from volunteer.service import visits

Ctx: TypeAlias = grpc.aio.ServicerContext


def visit_to_proto(row: VisitRow) -> pb.Visit:
    return pb.Visit(
        visit_id=row.visit_id, person_id=row.person_id, volunteer_id=row.volunteer_id,
        by_phone=row.by_phone, visited_at=to_timestamp(row.visited_at),
        duration_minutes=row.duration_minutes,
        findings=pb.Findings(health=row.health, needs=row.needs, safety=row.safety,
                             safety_concern=row.safety_concern),
        follow_up_needs=row.follow_up_needs)


class VisitMethods:
    v: Volunteers

    async def LogVisit(self, request: pb.LogVisitRequest, context: Ctx) -> pb.Visit:
        f = request.findings
        row = await visits.log_visit(self.v, current_caller(), NewVisit(
            request.person_id, request.volunteer_id, request.by_phone,
            from_timestamp(request.visited_at, request.HasField("visited_at")),
            request.duration_minutes,
            Findings(f.health, f.needs, f.safety, f.safety_concern),
            list(request.follow_up_needs)))
        return visit_to_proto(row)

    async def ListMissedVisits(self, request: pb.ListMissedVisitsRequest, context: Ctx
                               ) -> pb.ListMissedVisitsResponse:
        rows = await visits.list_missed(self.v, current_caller(), request.jurisdiction_path,
                                        request.page_size)
        return pb.ListMissedVisitsResponse(schedules=[schedule_to_proto(p, self.v)
                                                      for p in rows])
