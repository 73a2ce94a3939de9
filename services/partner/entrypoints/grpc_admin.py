"""PartnerAdminService over gRPC: requests into the administrators' use cases, rows into
Subscriber messages (never a secret, except the one a register or rotation returns once)."""

from __future__ import annotations

from typing import TypeAlias

import grpc

from cdsp.partner.v1 import partner_pb2 as pb
from cdsp.partner.v1 import partner_pb2_grpc
from partner.adapters.subscriber_store import SubscriberRow
from partner.config import Partners
from partner.service import admin
from runtime.auth import current_caller
from runtime.timestamps import to_timestamp

Ctx: TypeAlias = grpc.aio.ServicerContext


def subscriber_pb(r: SubscriberRow) -> pb.Subscriber:
    out = pb.Subscriber(subscriber_id=r.subscriber_id, code=r.code, name=r.name,
                        purpose=r.purpose, event_types=r.event_types,
                        jurisdiction_path=r.jurisdiction_path, fields=r.fields,
                        state=r.state,  # type: ignore[arg-type]
                        created_at=to_timestamp(r.created_at),
                        changed_at=to_timestamp(r.changed_at), version=r.version)
    if r.delivery == "webhook":
        out.webhook.url = r.url
    else:
        out.kafka.topic, out.kafka.principal = r.topic, r.principal
    return out


class PartnerAdminServicer(partner_pb2_grpc.PartnerAdminServiceServicer):
    def __init__(self, p: Partners) -> None:
        self.p = p

    async def RegisterSubscriber(self, request: pb.RegisterSubscriberRequest, context: Ctx
                                 ) -> pb.RegisterSubscriberResponse:
        row, secret = await admin.register(self.p, current_caller(), request.subscriber)
        return pb.RegisterSubscriberResponse(subscriber=subscriber_pb(row), secret=secret)

    async def GetSubscriber(self, request: pb.GetSubscriberRequest, context: Ctx
                            ) -> pb.Subscriber:
        return subscriber_pb(await admin.get(self.p, current_caller(), request.subscriber_id))

    async def ListSubscribers(self, request: pb.ListSubscribersRequest, context: Ctx
                              ) -> pb.ListSubscribersResponse:
        rows, token = await admin.page(self.p, current_caller(), request.include_revoked,
                                       request.page_size, request.page_token)
        return pb.ListSubscribersResponse(subscribers=[subscriber_pb(r) for r in rows],
                                          next_page_token=token)

    async def _change(self, action: str, request: pb.ChangeSubscriberRequest) -> pb.Subscriber:
        return subscriber_pb(await admin.change(self.p, current_caller(), action,
                                                request.subscriber_id, request.expected_version))

    async def PauseSubscriber(self, request: pb.ChangeSubscriberRequest, context: Ctx
                              ) -> pb.Subscriber:
        return await self._change("pause", request)

    async def ResumeSubscriber(self, request: pb.ChangeSubscriberRequest, context: Ctx
                               ) -> pb.Subscriber:
        return await self._change("resume", request)

    async def RevokeSubscriber(self, request: pb.ChangeSubscriberRequest, context: Ctx
                               ) -> pb.Subscriber:
        return await self._change("revoke", request)

    async def RotateSecret(self, request: pb.RotateSecretRequest, context: Ctx
                           ) -> pb.RegisterSubscriberResponse:
        row, secret = await admin.rotate(self.p, current_caller(), request.subscriber_id,
                                         request.overlap_s)
        return pb.RegisterSubscriberResponse(subscriber=subscriber_pb(row), secret=secret)

    async def ListDeadLetters(self, request: pb.ListDeadLettersRequest, context: Ctx
                              ) -> pb.ListDeadLettersResponse:
        letters, token = await admin.dead_letters(self.p, current_caller(), request.subscriber_id,
                                                  request.page_size, request.page_token)
        return pb.ListDeadLettersResponse(dead_letters=letters, next_page_token=token)

    async def ReplayDeadLetters(self, request: pb.ReplayDeadLettersRequest, context: Ctx
                                ) -> pb.ReplayDeadLettersResponse:
        count = await admin.replay(self.p, current_caller(), request.subscriber_id,
                                   list(request.delivery_ids))
        return pb.ReplayDeadLettersResponse(replayed=count)
