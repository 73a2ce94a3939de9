"""Starts the partner gateway: python -m partner.entrypoints.main (gRPC :50058, metrics :9108).

It consumes the registry's, the aid service's and the employment service's topics (not the
contacts, audit or notification topics), fans each translated event out to its subscribers'
delivery rows, and delivers them by webhook and by Kafka."""

from __future__ import annotations

from pathlib import Path

import grpc

from cdsp.partner.v1 import partner_pb2, partner_pb2_grpc
from partner.config import Partners, PartnerSettings, partner_keys
from partner.entrypoints.grpc_admin import PartnerAdminServicer
from runtime.consumer import EventConsumer
from runtime.server import PeriodicJob, Runtime, ServiceDefinition, Worker, run

SETTINGS = PartnerSettings.from_env()
TOPICS = ("cdsp.registry.v1", "cdsp.aid.v1", "cdsp.employment.v1")
GAUGES_S = 15.0


def _partners(rt: Runtime) -> Partners:
    s = rt.settings
    return Partners(rt.db, SETTINGS, partner_keys(), s.database_url, s.kafka_bootstrap,
                    s.topic_partitions, s.topic_replication)


def add_servicers(server: grpc.aio.Server, rt: Runtime) -> list[str]:
    partner_pb2_grpc.add_PartnerAdminServiceServicer_to_server(
        PartnerAdminServicer(_partners(rt)), server)
    return [partner_pb2.DESCRIPTOR.services_by_name["PartnerAdminService"].full_name]


def consumers(rt: Runtime) -> list[EventConsumer]:
    """One group per topic, so a registry-wide update never delays a warning."""
    from partner.service.fanout import handlers

    s = rt.settings
    table = handlers(_partners(rt))
    return [EventConsumer(rt.db, s.kafka_bootstrap, f"partner-{topic.split('.')[1]}", [topic],
                          table, partitions=s.topic_partitions, replication=s.topic_replication)
            for topic in TOPICS]


def workers(rt: Runtime) -> list[Worker]:
    from partner.service.delivery import DeliveryWorker
    from partner.service.kafka_out import KafkaSender
    from partner.service.webhooks import WebhookSender

    p = _partners(rt)
    webhook, kafka = WebhookSender(p), KafkaSender(p)
    return [DeliveryWorker(p, "webhook", webhook.send, webhook.close),
            DeliveryWorker(p, "kafka", kafka.send, kafka.close)]


def periodic(rt: Runtime) -> list[PeriodicJob]:
    from partner.service.delivery import refresh_gauges

    p = _partners(rt)
    return [PeriodicJob("partner-gauges", GAUGES_S, lambda: refresh_gauges(p))]


async def on_start(rt: Runtime) -> None:
    partner_keys()  # refuses to start without CDSP_PARTNER_KEYS


DEFINITION = ServiceDefinition(
    name="partner",
    grpc_port=50058,
    metrics_port=9108,
    migrations=Path(__file__).resolve().parent.parent / "migrations",
    add_servicers=add_servicers,
    consumers=consumers,
    workers=workers,
    periodic=periodic,
    on_start=on_start,
)

if __name__ == "__main__":
    run(DEFINITION)
