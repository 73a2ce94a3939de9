"""The service bootstrap every service runs: one call, `run(definition)`.

Start: settings → logging → the identity issuer's keys and revocation list (runtime.tokens; a
service that cannot read them does not start) → migrations (applied, or checked when
CDSP_MIGRATE_ON_START=false) → pool → metrics page → gRPC server (health, reflection unless
switched off, interceptors; TLS when the deployment gives a certificate, and a plaintext
health-only port for probes: runtime.grpc_tls) → outbox relay and consumers → health SERVING.
Health follows the database: a service that cannot reach its database reports NOT_SERVING (the
outbox buffers a broker outage, so the broker does not decide readiness). The health name
`cdsp.liveness` stays SERVING while the process answers, for liveness probes that must not restart
replicas over a database outage.

SIGTERM/SIGINT: health NOT_SERVING, stop accepting calls and give in-flight ones
CDSP_SHUTDOWN_GRACE_S to finish, stop consumers (their offsets are already committed), publish
what is left in the outbox, close the pool.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from cdsp.audit.v1 import audit_pb2, audit_pb2_grpc
from runtime import audit, dead_letters, grpc_tls, inbox
from runtime.audit import Auditor
from runtime.audit_api import AuditServicer
from runtime.consumer import EventConsumer
from runtime.db import Database
from runtime.interceptors import AuthInterceptor, CallInterceptor
from runtime.logs import configure_logging
from runtime.metrics import serve_metrics, watch_pool
from runtime.migrations import RUNTIME_MIGRATIONS, apply_migrations, check_migrations
from runtime.outbox_relay import OutboxRelay
from runtime.settings import Settings, load_settings
from runtime.token_settings import load_token_settings
from runtime.tokens import TokenVerifier

log = logging.getLogger("cdsp.server")


@dataclass
class Runtime:
    """What a service's wiring receives: its settings and its database."""

    settings: Settings
    db: Database


@dataclass
class ServiceDefinition:
    name: str
    grpc_port: int
    metrics_port: int
    migrations: Path
    # Adds the service's servicers to the server; returns their full service names.
    add_servicers: Callable[[grpc.aio.Server, Runtime], list[str]]
    # The event consumers the service runs (none by default).
    consumers: Callable[[Runtime], list[EventConsumer]] = field(default=lambda rt: [])
    # Jobs run at start-up and then every interval (scans for deadlines, daily refreshes).
    periodic: Callable[[Runtime], list[PeriodicJob]] = field(default=lambda rt: [])
    # Long-running loops of the service (a delivery dispatcher): started after the consumers,
    # stopped before them.
    workers: Callable[[Runtime], list[Worker]] = field(default=lambda rt: [])
    # Topics the service writes besides its own cdsp.<name>.v1 (the registry's restricted
    # contacts topic). With its consumers' topics and groups, this is what its Kafka user may do
    # (the Helm chart's KafkaUser ACLs; tests/deploy derive them from here).
    extra_topics: tuple[str, ...] = ()
    # Run once the database is open, before the service serves (the registry checks its
    # encryption keys and seals plaintext left by rows written before sealing).
    on_start: Callable[[Runtime], Awaitable[None]] | None = None


class Worker(Protocol):
    def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class PeriodicJob:
    """A job every replica runs on a timer; it must be safe to run twice at once (use row
    locks or conditional updates), since replicas do not coordinate."""

    name: str
    interval_s: float
    run: Callable[[], Awaitable[object]]


async def _run_periodically(job: PeriodicJob) -> None:
    while True:
        started = time.monotonic()
        try:
            result = await job.run()
            log.info("job %s done in %.2fs: %s", job.name, time.monotonic() - started, result)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("job %s failed; next run in %.0fs", job.name, job.interval_s)
        await asyncio.sleep(job.interval_s)


def run(definition: ServiceDefinition) -> None:
    asyncio.run(serve(definition))


async def serve(definition: ServiceDefinition) -> None:
    settings = load_settings(definition.name, definition.grpc_port, definition.metrics_port)
    transport = grpc_tls.server_options(os.environ, settings.env == "production")
    configure_logging(definition.name, settings.log_level)
    verifier = TokenVerifier(load_token_settings(definition.name, settings.env == "production"))
    await verifier.load()
    sources = [("runtime", RUNTIME_MIGRATIONS), (definition.name, definition.migrations)]
    if settings.migrate_on_start:
        applied = await apply_migrations(settings.database_url, sources)
        log.info("migrations up to date (%d applied now)", len(applied))
    else:  # the deployment's migration step applied them; refuse to serve on an older schema
        await check_migrations(settings.database_url, sources)
        log.info("schema current (migrations applied by the migration step)")

    db = Database(settings.database_url, definition.name, settings.db_pool_min,
                  settings.db_pool_max)
    await db.open()
    runtime = Runtime(settings, db)
    if definition.on_start is not None:
        await definition.on_start(runtime)
    serve_metrics(settings.metrics_addr)
    watch_pool(db.stats)

    server = grpc.aio.server(
        interceptors=[CallInterceptor(Auditor(db)), AuthInterceptor(verifier)],
        options=[("grpc.max_receive_message_length", 4 * 1024 * 1024)])
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    names = definition.add_servicers(server, runtime)
    audit_pb2_grpc.add_AuditServiceServicer_to_server(AuditServicer(db), server)
    names.append(audit_pb2.DESCRIPTOR.services_by_name["AuditService"].full_name)
    if transport.reflection:
        reflection.enable_server_reflection(
            [*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
             reflection.SERVICE_NAME], server)
    grpc_tls.add_port(server, settings.grpc_addr, transport.tls)
    await server.start()
    verifier.start()
    probes = await _health_only_server(health, transport.health_addr)

    relay = OutboxRelay(db, settings.database_url, settings.kafka_bootstrap,
                        partitions=settings.topic_partitions,
                        replication=settings.topic_replication, poll_s=settings.outbox_poll_s,
                        batch=settings.outbox_batch)
    relay.start()
    consumers = definition.consumers(runtime)
    for consumer in consumers:
        consumer.start()
    workers = definition.workers(runtime)
    for worker in workers:
        worker.start()
    watcher = asyncio.create_task(_watch_database(db, health, names), name="health")
    await health.set(LIVENESS, health_pb2.HealthCheckResponse.SERVING)
    own_jobs = [PeriodicJob("dead-letter-gauge", DEAD_LETTER_GAUGE_S,
                            lambda: dead_letters.refresh_gauge(db)),
                PeriodicJob("inbox-retention", INBOX_RETENTION_EVERY_S,
                            lambda: inbox.purge_expired(db, settings.inbox_retention_days)),
                PeriodicJob("audit-retention", INBOX_RETENTION_EVERY_S,
                            lambda: audit.purge_expired(db, settings.audit_retention_days))]
    jobs = [asyncio.create_task(_run_periodically(job), name=job.name)
            for job in [*own_jobs, *definition.periodic(runtime)]]
    log.info("serving %s on %s (%s%s), metrics on %s%s", ", ".join(names), settings.grpc_addr,
             "TLS" if transport.tls else "plaintext",
             ", clients' certificates required" if transport.tls and transport.tls.client_ca_file
             else "", settings.metrics_addr,
             f", health only on {transport.health_addr}" if probes else "")

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()

    log.info("shutting down: draining calls for up to %.0fs", settings.shutdown_grace_s)
    watcher.cancel()
    for job in jobs:
        job.cancel()
    await health.enter_graceful_shutdown()
    await server.stop(settings.shutdown_grace_s)
    await verifier.stop()
    for worker in workers:
        await worker.stop()
    for consumer in consumers:
        await consumer.stop()
    await relay.stop(drain_timeout=5.0)
    await db.close()
    if probes is not None:
        await probes.stop(1)
    log.info("stopped")


DEAD_LETTER_GAUGE_S = 30.0  # how often every service recounts its dead_letter table
INBOX_RETENTION_EVERY_S = 3600.0  # how often every service removes inbox rows past retention

# The health service name a liveness probe asks for: SERVING while the process answers, whatever
# its database does. Readiness asks for "" (or a service's name), which follows the database; a
# liveness probe on that would restart every replica during a database outage, which fixes nothing.
LIVENESS = "cdsp.liveness"


async def _health_only_server(health: HealthServicer, addr: str) -> grpc.aio.Server | None:
    """A plaintext port serving grpc.health.v1 alone, the same statuses as the main port: for
    Kubernetes' native gRPC probes, which cannot speak TLS. It answers SERVING / NOT_SERVING
    and nothing else (no service, no reflection, no caller data)."""
    if not addr:
        return None
    probes = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(health, probes)
    probes.add_insecure_port(addr)
    await probes.start()
    return probes


async def _watch_database(db: Database, health: HealthServicer, names: list[str]) -> None:
    """SERVING while the database answers; NOT_SERVING while it does not."""
    serving = health_pb2.HealthCheckResponse.SERVING
    not_serving = health_pb2.HealthCheckResponse.NOT_SERVING
    while True:
        try:
            async with db.pool.connection(timeout=3) as conn:
                await conn.execute("SELECT 1")
            status = serving
        except Exception as exc:
            log.warning("database check failed (%s): NOT_SERVING", type(exc).__name__)
            status = not_serving
        for name in ["", *names]:
            await health.set(name, status)
        await asyncio.sleep(5)
