"""Starts the notification service: python -m notification.entrypoints.main
(gRPC :50055, metrics :9105)."""

from __future__ import annotations

from pathlib import Path

import grpc

from cdsp.notification.v1 import notification_pb2, notification_pb2_grpc
from notification.adapters.senders.base import Sender
from notification.adapters.senders.email import EmailSender
from notification.adapters.senders.inbox import InboxSender
from notification.adapters.senders.provider import provider_senders
from notification.adapters.senders.webhook import WebhookSender
from notification.config import Notifier, NotifySettings
from notification.entrypoints.grpc_servicer import NotificationServicer
from notification.service.dispatch import Dispatcher, refresh_pending
from notification.service.events import (
    CONTACTS_TOPIC,
    REGISTRY_TOPIC,
    SOURCE_TOPICS,
    handlers,
)
from notification.service.stream import InboxHub
from runtime.audit import AUDIT_TOPIC
from runtime.consumer import EventConsumer
from runtime.server import PeriodicJob, Runtime, ServiceDefinition, Worker, run

SETTINGS = NotifySettings.from_env()
# The wiring callbacks below each receive the runtime; these keep one Notifier (with its senders'
# HTTP sessions) and one inbox hub per runtime.
_notifiers: dict[int, Notifier] = {}
_hubs: dict[int, InboxHub] = {}


def senders(s: NotifySettings) -> dict[str, Sender]:
    """The channels this deployment can send on: the inbox and webhooks always; e-mail and
    SMS/voice when their relay and provider are configured."""
    found: dict[str, Sender] = {"inbox": InboxSender(),
                                "webhook": WebhookSender(s.allowed_networks)}
    if s.smtp_host:
        found["email"] = EmailSender(s.smtp_host, s.smtp_port, s.smtp_from, s.smtp_starttls,
                                     s.smtp_username, s.smtp_password)
    if s.provider_url:
        sms, voice = provider_senders(s.provider_url, s.provider_key)
        found["sms"], found["voice"] = sms, voice
    return found


def _notifier(rt: Runtime) -> Notifier:
    """One Notifier (and one set of senders) per runtime."""
    key = id(rt)
    if key not in _notifiers:
        _notifiers[key] = Notifier(rt.db, SETTINGS, rt.settings.local_tz,
                                   rt.settings.database_url, senders=senders(SETTINGS))
    return _notifiers[key]


def _hub(rt: Runtime) -> InboxHub:
    return _hubs.setdefault(id(rt), InboxHub(rt.settings.database_url))


def add_servicers(server: grpc.aio.Server, rt: Runtime) -> list[str]:
    notification_pb2_grpc.add_NotificationServiceServicer_to_server(
        NotificationServicer(_notifier(rt), _hub(rt)), server)
    return [notification_pb2.DESCRIPTOR.services_by_name["NotificationService"].full_name]


def consumers(rt: Runtime) -> list[EventConsumer]:
    s = rt.settings
    table = handlers(_notifier(rt))
    # Groups of their own, so a city-wide registry update never delays an urgent aid notice;
    # contacts come from the registry's restricted topic, which only this service may read.
    return [EventConsumer(rt.db, s.kafka_bootstrap, group, topics, table,
                          partitions=s.topic_partitions, replication=s.topic_replication)
            for group, topics in (("notification-recipients", [REGISTRY_TOPIC]),
                                  ("notification-contacts", [CONTACTS_TOPIC]),
                                  ("notification-notices", list(SOURCE_TOPICS)),
                                  # break-glass reads, announced to the jurisdiction read
                                  ("notification-audit", [AUDIT_TOPIC]))]


def workers(rt: Runtime) -> list[Worker]:
    return [_hub(rt), Dispatcher(_notifier(rt))]


def periodic(rt: Runtime) -> list[PeriodicJob]:
    notifier = _notifier(rt)
    return [PeriodicJob("pending-deliveries-gauge", 15.0, lambda: refresh_pending(notifier))]


DEFINITION = ServiceDefinition(
    name="notification",
    grpc_port=50055,
    metrics_port=9105,
    migrations=Path(__file__).resolve().parent.parent / "migrations",
    add_servicers=add_servicers,
    consumers=consumers,
    periodic=periodic,
    workers=workers,
)

if __name__ == "__main__":
    run(DEFINITION)
