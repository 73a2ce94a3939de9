"""Starts the volunteer service: python -m volunteer.entrypoints.main
(gRPC :50054, metrics :9104)."""

from __future__ import annotations

from pathlib import Path

import grpc

from cdsp.volunteer.v1 import volunteer_pb2, volunteer_pb2_grpc
from runtime.consumer import EventConsumer
from runtime.server import PeriodicJob, Runtime, ServiceDefinition, run
from volunteer.config import VolunteerRules, Volunteers
from volunteer.entrypoints.grpc_servicer import VolunteerServicer
from volunteer.service.projection import handlers

RULES = VolunteerRules.from_env()


def _volunteers(rt: Runtime) -> Volunteers:
    return Volunteers(rt.db, RULES, rt.settings.local_tz)


def add_servicers(server: grpc.aio.Server, rt: Runtime) -> list[str]:
    volunteer_pb2_grpc.add_VolunteerServiceServicer_to_server(
        VolunteerServicer(_volunteers(rt)), server)  # type: ignore[abstract]
    return [volunteer_pb2.DESCRIPTOR.services_by_name["VolunteerService"].full_name]


def consumers(rt: Runtime) -> list[EventConsumer]:
    """The registry's events keep the projection of persons; the aid service's warnings raise
    risk colours. Two groups, so a registry-wide update never delays a warning."""
    s = rt.settings
    table = handlers(_volunteers(rt))
    return [EventConsumer(rt.db, s.kafka_bootstrap, group, [topic], table,
                          partitions=s.topic_partitions, replication=s.topic_replication)
            for group, topic in (("volunteer-registry-projection", "cdsp.registry.v1"),
                                 ("volunteer-aid-warnings", "cdsp.aid.v1"))]


def periodic(rt: Runtime) -> list[PeriodicJob]:
    """Scans that run at start-up too, so a visit missed while the service was down is found."""
    from volunteer.service.visits import visit_jobs

    return visit_jobs(_volunteers(rt))


DEFINITION = ServiceDefinition(
    name="volunteer",
    grpc_port=50054,
    metrics_port=9104,
    migrations=Path(__file__).resolve().parent.parent / "migrations",
    add_servicers=add_servicers,
    consumers=consumers,
    periodic=periodic,
)

if __name__ == "__main__":
    run(DEFINITION)
