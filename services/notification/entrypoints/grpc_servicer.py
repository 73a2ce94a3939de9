"""NotificationService over gRPC: requests into use-case calls, rows into messages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TypeAlias

import grpc

from cdsp.notification.v1 import notification_pb2 as pb
from cdsp.notification.v1 import notification_pb2_grpc
from notification.adapters.notice_store import NoticeRow
from notification.config import Notifier
from notification.service import api
from notification.service.access import check_inbox
from notification.service.stream import InboxHub
from runtime.auth import current_caller
from runtime.logs import mask_email
from runtime.timestamps import to_timestamp

Ctx: TypeAlias = grpc.aio.ServicerContext


def notice_to_proto(row: NoticeRow) -> pb.Notice:
    return pb.Notice(
        notice_id=row.notice_id, source_event_id=row.source_event_id, template=row.template,
        recipient_kind=row.recipient_kind, recipient_id=row.recipient_id,
        jurisdiction_path=row.jurisdiction_path,
        urgency=pb.NOTICE_URGENCY_URGENT if row.urgent else pb.NOTICE_URGENCY_NORMAL,
        title=row.title, body=row.body, easy_read=row.easy_read, flash_alert=row.flash_alert,
        deliveries=[pb.Delivery(channel=d.channel, status=d.status,  # type: ignore[arg-type]
                                attempts=d.attempts, last_error=d.last_error,
                                next_attempt_at=to_timestamp(d.next_attempt_at)
                                if d.status == 1 else None,
                                delivered_at=to_timestamp(d.delivered_at))
                    for d in row.deliveries],
        undeliverable_reason=row.undeliverable_reason, created_at=to_timestamp(row.created_at),
        channel_reasons=row.channel_reasons, locale=row.locale,
        source_event_type=row.source_event_type)


class NotificationServicer(notification_pb2_grpc.NotificationServiceServicer):
    def __init__(self, notifier: Notifier, hub: InboxHub) -> None:
        self.n = notifier
        self.hub = hub

    async def ListInbox(self, request: pb.ListInboxRequest, context: Ctx
                        ) -> pb.ListInboxResponse:
        rows, token = await api.list_inbox(self.n, current_caller(), request.recipient_id,
                                           request.page_size, request.page_token)
        return pb.ListInboxResponse(notices=[notice_to_proto(r) for r in rows],
                                    next_page_token=token)

    async def StreamInbox(self, request: pb.StreamInboxRequest, context: Ctx
                          ) -> AsyncIterator[pb.Notice]:
        caller = current_caller()
        async with self.n.db.unit_of_work(caller) as uow:
            who = await check_inbox(uow, caller, request.recipient_id)
        async with self.hub.subscribe(who) as queue:
            await context.send_initial_metadata(())
            while True:
                notice_id = await queue.get()
                if not notice_id:
                    return  # the service is stopping
                yield notice_to_proto(await api.get_notice(self.n, caller, notice_id))

    async def GetNotice(self, request: pb.GetNoticeRequest, context: Ctx) -> pb.Notice:
        return notice_to_proto(await api.get_notice(self.n, current_caller(),
                                                    request.notice_id))

    async def ListNotices(self, request: pb.ListNoticesRequest, context: Ctx
                          ) -> pb.ListNoticesResponse:
        rows, token = await api.list_notices(self.n, current_caller(), request.jurisdiction_path,
                                             request.source_event_id, request.page_size,
                                             request.page_token)
        return pb.ListNoticesResponse(notices=[notice_to_proto(r) for r in rows],
                                      next_page_token=token)

    async def GetDeliveryStats(self, request: pb.GetDeliveryStatsRequest, context: Ctx
                               ) -> pb.DeliveryStats:
        counts, undeliverable = await api.delivery_stats(self.n, current_caller(),
                                                         request.jurisdiction_path)
        return pb.DeliveryStats(
            counts=[pb.ChannelStatusCount(channel=c, status=s, count=k)  # type: ignore[arg-type]
                    for c, s, k in counts], undeliverable_notices=undeliverable)

    async def RegisterWebhook(self, request: pb.RegisterWebhookRequest, context: Ctx
                              ) -> pb.Webhook:
        webhook_id, url, secret = await api.register_webhook(
            self.n, current_caller(), request.url, list(request.event_types),
            request.jurisdiction_path)
        return pb.Webhook(webhook_id=webhook_id, url=url, event_types=sorted(
            set(request.event_types)), jurisdiction_path=request.jurisdiction_path,
            signing_secret=secret)

    async def SetWorkerContact(self, request: pb.SetWorkerContactRequest, context: Ctx
                               ) -> pb.WorkerContact:
        row = await api.set_worker_contact(self.n, current_caller(), request.recipient_id,
                                           request.jurisdiction_path, request.email)
        if row is None:
            return pb.WorkerContact(recipient_id=request.recipient_id,
                                    jurisdiction_path=request.jurisdiction_path)
        return pb.WorkerContact(recipient_id=row.recipient_id,
                                jurisdiction_path=row.jurisdiction_path,
                                email=mask_email(row.email),
                                updated_at=to_timestamp(row.updated_at))  # type: ignore[arg-type]

    async def LinkApp(self, request: pb.LinkAppRequest, context: Ctx) -> pb.LinkAppResponse:
        await api.link_app(self.n, current_caller(), request.person_id, request.linked)
        return pb.LinkAppResponse(person_id=request.person_id, linked=request.linked)
