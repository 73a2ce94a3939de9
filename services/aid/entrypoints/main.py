"""Starts the aid service: python -m aid.entrypoints.main (gRPC :50052, metrics :9102)."""

from __future__ import annotations

from pathlib import Path

import grpc

from aid.config import Aid, AidRules
from aid.entrypoints.grpc_servicer import AidServicer
from aid.service.case_actions import case_action_jobs
from aid.service.gauges import gauge_jobs
from aid.service.kits import kit_jobs
from aid.service.projection import projection_handlers
from aid.service.requests import request_jobs
from cdsp.aid.v1 import aid_pb2, aid_pb2_grpc
from runtime.consumer import EventConsumer
from runtime.server import PeriodicJob, Runtime, ServiceDefinition, run

RULES = AidRules.from_env()


def _aid(rt: Runtime) -> Aid:
    return Aid(rt.db, RULES, rt.settings.local_tz)


def add_servicers(server: grpc.aio.Server, rt: Runtime) -> list[str]:
    aid_pb2_grpc.add_AidServiceServicer_to_server(AidServicer(_aid(rt)), server)  # type: ignore[abstract]
    return [aid_pb2.DESCRIPTOR.services_by_name["AidService"].full_name]


def consumers(rt: Runtime) -> list[EventConsumer]:
    """The registry's events keep the aid service's projection of persons, households and
    jurisdictions."""
    s = rt.settings
    handlers, batch_handlers = projection_handlers(RULES)
    return [EventConsumer(rt.db, s.kafka_bootstrap, "aid-registry-projection",
                          ["cdsp.registry.v1"], handlers, batch_handlers=batch_handlers,
                          partitions=s.topic_partitions,
                          replication=s.topic_replication)]


def periodic(rt: Runtime) -> list[PeriodicJob]:
    """Deadline scans: they run at start-up too, so a breach that happened while the service
    was down is found as soon as it is back. The dashboard gauges are refreshed alongside."""
    aid = _aid(rt)
    return [*request_jobs(aid), *case_action_jobs(aid), *kit_jobs(aid), *gauge_jobs(aid)]


DEFINITION = ServiceDefinition(
    name="aid",
    grpc_port=50052,
    metrics_port=9102,
    migrations=Path(__file__).resolve().parent.parent / "migrations",
    add_servicers=add_servicers,
    consumers=consumers,
    periodic=periodic,
)

if __name__ == "__main__":
    run(DEFINITION)
