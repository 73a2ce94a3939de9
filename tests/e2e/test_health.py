"""End to end: what the probes of a deployment see. Readiness ("" and each service name) follows
the service's database; liveness (`cdsp.liveness`) does not, so an orchestrator stops routing
calls to a replica whose database is gone without restarting it. `runtime.health_probe` (the
docker-compose healthcheck) reports the same by its exit status."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import grpc
import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import devstack
from runtime.server import LIVENESS
from tests.notification_helpers import wait_until

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
DB = "health"


@pytest.fixture
def registry_on_own_db(stack: devstack.Stack) -> Iterator[tuple[str, str]]:
    """A registry process on ports and a database of this test's own (the database is taken
    away from it, which must not disturb the session's registry)."""
    url = devstack.scratch_database(stack, DB)
    mine = devstack.Stack(state_dir=stack.state_dir / "health", pg_port=stack.pg_port,
                          kafka_port=stack.kafka_port, port_offset=stack.port_offset + 11,
                          metrics_offset=(stack.metrics_offset or 0) + 11,
                          identity_dir=stack.identity.folder)
    mine.state_dir.mkdir(parents=True, exist_ok=True)
    devstack.start_service(mine, "registry", {"CDSP_DATABASE_URL": url})
    yield mine.grpc_addr("registry"), url
    devstack.stop_service(mine, "registry")
    _allow_connections(stack, True)


def _allow_connections(stack: devstack.Stack, allow: bool) -> None:
    with psycopg.connect(stack.database_url("", superuser=True), autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE scratch_{DB} ALLOW_CONNECTIONS {str(allow).lower()}")
        if not allow:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = %s", [f"scratch_{DB}"])


def _status(addr: str, service: str) -> int:
    with grpc.insecure_channel(addr) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=3)
    return int(reply.status)


def _probe(addr: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(devstack.ROOT / "services")}
    return subprocess.run([sys.executable, "-m", "runtime.health_probe", "--addr", addr, *args],
                          capture_output=True, text=True, env=env, timeout=30, check=False)


def test_readiness_follows_the_database_and_liveness_does_not(
        stack: devstack.Stack, registry_on_own_db: tuple[str, str]) -> None:
    addr, _ = registry_on_own_db
    named = "cdsp.registry.v1.RegistryService"
    assert {s: _status(addr, s) for s in ("", named, LIVENESS)} == dict.fromkeys(
        ("", named, LIVENESS), SERVING)
    assert _probe(addr).returncode == 0
    assert _probe(addr, "--service", LIVENESS).returncode == 0

    _allow_connections(stack, False)
    wait_until(lambda: _status(addr, "") == NOT_SERVING, "readiness NOT_SERVING", timeout=30)
    assert _status(addr, named) == NOT_SERVING
    assert _status(addr, LIVENESS) == SERVING
    ready = _probe(addr)
    assert ready.returncode == 1 and "NOT_SERVING" in ready.stderr
    assert _probe(addr, "--service", LIVENESS).returncode == 0

    _allow_connections(stack, True)
    wait_until(lambda: _status(addr, "") == SERVING, "readiness back to SERVING", timeout=30)
    assert _probe(addr).returncode == 0


def test_the_probe_fails_on_no_server_an_unknown_name_and_bad_usage(
        registry_on_own_db: tuple[str, str]) -> None:
    addr, _ = registry_on_own_db
    unknown = _probe(addr, "--service", "no.such.Service")
    assert unknown.returncode == 1 and "NOT_FOUND" in unknown.stderr
    nobody = _probe("127.0.0.1:1", "--timeout", "0.5")
    assert nobody.returncode == 1 and "no answer" in nobody.stderr
    bad = _probe("registry-without-port")
    assert bad.returncode == 2 and "host:port" in bad.stderr
