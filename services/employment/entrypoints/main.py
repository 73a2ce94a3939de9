"""Starts the employment service: python -m employment.entrypoints.main
(gRPC :50053, metrics :9103)."""

from __future__ import annotations

from pathlib import Path

import grpc

from cdsp.employment.v1 import employment_pb2, employment_pb2_grpc
from employment.config import Employment, EmploymentRules
from employment.entrypoints.grpc_servicer import EmploymentServicer
from employment.service.projection import HANDLERS
from runtime.consumer import EventConsumer
from runtime.server import PeriodicJob, Runtime, ServiceDefinition, run

RULES = EmploymentRules.from_env()


def _employment(rt: Runtime) -> Employment:
    return Employment(rt.db, RULES, rt.settings.local_tz)


def add_servicers(server: grpc.aio.Server, rt: Runtime) -> list[str]:
    employment_pb2_grpc.add_EmploymentServiceServicer_to_server(
        EmploymentServicer(_employment(rt)), server)  # type: ignore[abstract]
    return [employment_pb2.DESCRIPTOR.services_by_name["EmploymentService"].full_name]


def consumers(rt: Runtime) -> list[EventConsumer]:
    """The registry's events keep the projection of persons (candidates)."""
    s = rt.settings
    return [EventConsumer(rt.db, s.kafka_bootstrap, "employment-registry-projection",
                          ["cdsp.registry.v1"], HANDLERS, partitions=s.topic_partitions,
                          replication=s.topic_replication)]


def periodic(rt: Runtime) -> list[PeriodicJob]:
    """Scans that run at start-up too, so what fell due while the service was down is found."""
    from employment.service.placements import placement_jobs

    return placement_jobs(_employment(rt))


DEFINITION = ServiceDefinition(
    name="employment",
    grpc_port=50053,
    metrics_port=9103,
    migrations=Path(__file__).resolve().parent.parent / "migrations",
    add_servicers=add_servicers,
    consumers=consumers,
    periodic=periodic,
)

if __name__ == "__main__":
    run(DEFINITION)
