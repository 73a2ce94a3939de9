"""Starts the registry: python -m registry.entrypoints.main (gRPC :50051, metrics :9101)."""

from __future__ import annotations

from pathlib import Path

import grpc

from cdsp.registry.v1 import registry_pb2, registry_pb2_grpc
from registry.config import Registry, priority_groups_from_env
from registry.domain import events
from registry.entrypoints.grpc_servicer import RegistryServicer
from registry.service.derived_groups import refresh_derived_groups
from registry.service.reminders import reminder_jobs
from registry.service.visit_needs import visit_need_handlers
from runtime.consumer import EventConsumer
from runtime.server import PeriodicJob, Runtime, ServiceDefinition, run


def _registry(rt: Runtime) -> Registry:
    return Registry(rt.db, priority_groups_from_env(), rt.settings.local_tz)


def add_servicers(server: grpc.aio.Server, rt: Runtime) -> list[str]:
    registry = _registry(rt)
    registry_pb2_grpc.add_RegistryServiceServicer_to_server(RegistryServicer(registry), server)
    return [registry_pb2.DESCRIPTOR.services_by_name["RegistryService"].full_name]


def consumers(rt: Runtime) -> list[EventConsumer]:
    """The volunteer service's visit logs: the needs a visit found are added to the person."""
    s = rt.settings
    return [EventConsumer(rt.db, s.kafka_bootstrap, "registry-visit-needs",
                          ["cdsp.volunteer.v1"], visit_need_handlers(_registry(rt)),
                          partitions=s.topic_partitions, replication=s.topic_replication)]


DEFINITION = ServiceDefinition(
    name="registry",
    grpc_port=50051,
    metrics_port=9101,
    migrations=Path(__file__).resolve().parent.parent / "migrations",
    add_servicers=add_servicers,
    consumers=consumers,
    periodic=lambda rt: [PeriodicJob("refresh-derived-groups", 6 * 3600,
                                     lambda: refresh_derived_groups(_registry(rt))),
                         *reminder_jobs(_registry(rt))],
    extra_topics=(events.CONTACTS_TOPIC,),  # names, phones, guardians: notification alone reads it
)

if __name__ == "__main__":
    run(DEFINITION)
