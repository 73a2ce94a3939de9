"""Starts the registry: python -m registry.entrypoints.main (gRPC :50051, metrics :9101)."""

from __future__ import annotations

import logging
from pathlib import Path

import grpc

from cdsp.registry.v1 import registry_pb2, registry_pb2_grpc
from registry.config import Registry, priority_groups_from_env
from registry.domain import events
from registry.entrypoints.grpc_servicer import RegistryServicer
from registry.sealed import SEALED
from registry.service.derived_groups import refresh_derived_groups
from registry.service.reminders import reminder_jobs
from registry.service.visit_needs import visit_need_handlers
from runtime import pii
from runtime.consumer import EventConsumer
from runtime.sealed_columns import seal_plaintext
from runtime.server import PeriodicJob, Runtime, ServiceDefinition, run

log = logging.getLogger("cdsp.registry")


def _registry(rt: Runtime) -> Registry:
    return Registry(rt.db, priority_groups_from_env(), rt.settings.local_tz)


def add_servicers(server: grpc.aio.Server, rt: Runtime) -> list[str]:
    registry = _registry(rt)
    registry_pb2_grpc.add_RegistryServiceServicer_to_server(RegistryServicer(registry), server)
    return [registry_pb2.DESCRIPTOR.services_by_name["RegistryService"].full_name]


async def on_start(rt: Runtime) -> None:
    """Refuses to start without the encryption keys; seals rows a pre-sealing database holds."""
    keys = pii.keys()
    sealed = await seal_plaintext(rt.db, keys, SEALED)
    if sealed:
        log.info("sealed the plaintext identifiers of %d persons written before sealing", sealed)


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
    extra_topics=(events.CONTACTS_TOPIC,),
    on_start=on_start,  # names, phones, guardians: notification alone reads it
)

if __name__ == "__main__":
    run(DEFINITION)
