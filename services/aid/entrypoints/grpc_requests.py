"""AidService methods for the service loop (submit, dispatch, arrive, escalate, resolve)."""

from __future__ import annotations

from typing import TypeAlias

import grpc

from aid.config import Aid
from aid.domain.requests import ServiceRequest, ratio
from aid.service import requests
from cdsp.aid.v1 import aid_pb2 as pb
from runtime.auth import current_caller
from runtime.timestamps import from_timestamp, to_timestamp

Ctx: TypeAlias = grpc.aio.ServicerContext


def request_to_proto(r: ServiceRequest) -> pb.ServiceRequest:
    return pb.ServiceRequest(
        request_id=r.request_id, person_id=r.person_id, jurisdiction_path=r.jurisdiction_path,
        description=r.description, status=r.status,  # type: ignore[arg-type]
        team=r.team, submitted_at=to_timestamp(r.submitted_at),
        arrival_due_at=to_timestamp(r.arrival_due_at), arrived_at=to_timestamp(r.arrived_at),
        meeting_due_at=to_timestamp(r.meeting_due_at), resolved_at=to_timestamp(r.resolved_at),
        result=r.result, arrival_breached=r.arrival_breached,
        meeting_breached=r.meeting_breached, submitted_online=r.submitted_online,
        version=r.version)


class RequestMethods:
    aid: Aid

    async def SubmitRequest(self, request: pb.SubmitRequestRequest, context: Ctx
                            ) -> pb.ServiceRequest:
        return request_to_proto(await requests.submit(
            self.aid, current_caller(), request.person_id, request.description,
            request.submitted_online))

    async def DispatchRequest(self, request: pb.DispatchRequestRequest, context: Ctx
                              ) -> pb.ServiceRequest:
        return request_to_proto(await requests.dispatch(
            self.aid, current_caller(), request.request_id, request.team))

    async def RecordArrival(self, request: pb.RecordArrivalRequest, context: Ctx
                            ) -> pb.ServiceRequest:
        return request_to_proto(await requests.arrive(
            self.aid, current_caller(), request.request_id,
            from_timestamp(request.arrived_at, request.HasField("arrived_at"))))

    async def EscalateRequest(self, request: pb.EscalateRequestRequest, context: Ctx
                              ) -> pb.ServiceRequest:
        return request_to_proto(await requests.escalate(
            self.aid, current_caller(), request.request_id, request.reason))

    async def ResolveRequest(self, request: pb.ResolveRequestRequest, context: Ctx
                             ) -> pb.ServiceRequest:
        return request_to_proto(await requests.resolve(
            self.aid, current_caller(), request.request_id, request.result))

    async def GetRequest(self, request: pb.GetRequestRequest, context: Ctx) -> pb.ServiceRequest:
        return request_to_proto(await requests.get_request(self.aid, current_caller(),
                                                           request.request_id))

    async def ListRequests(self, request: pb.ListRequestsRequest, context: Ctx
                           ) -> pb.ListRequestsResponse:
        rows, token = await requests.list_requests(
            self.aid, current_caller(), request.jurisdiction_path, request.include_resolved,
            request.page_size, request.page_token)
        return pb.ListRequestsResponse(requests=[request_to_proto(r) for r in rows],
                                       next_page_token=token)

    async def GetSlaCompliance(self, request: pb.GetSlaComplianceRequest, context: Ctx
                               ) -> pb.SlaCompliance:
        path, c = await requests.sla_compliance(
            self.aid, current_caller(), request.jurisdiction_path,
            from_timestamp(request.since, request.HasField("since")))
        return pb.SlaCompliance(
            jurisdiction_path=path, requests_due=c.requests_due,
            arrived_on_time=c.arrived_on_time,
            arrival_compliance=ratio(c.arrived_on_time, c.requests_due),
            escalations_due=c.escalations_due, meetings_on_time=c.meetings_on_time,
            submitted_online=c.submitted_online, submitted_total=c.submitted_total)
