"""End to end: gRPC over TLS where the deployment gives a certificate (runtime.grpc_tls). A real
registry process started with a certificate made in the test answers over TLS and refuses
plaintext; with mutual TLS a client without a certificate, or with one another CA signed, is
refused; reflection switched off hides the service list; the plaintext health-only port answers
the probes and nothing else; a renewed certificate on disk serves the next connection; and the
runtime's own clients (grpc_client, health_probe) connect over TLS when given the CA."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

import devstack
from cdsp.registry.v1 import registry_pb2 as pb
from cdsp.registry.v1 import registry_pb2_grpc
from runtime.grpc_client import aio_channel, plain_or_tls_channel, sync_channel
from runtime.grpc_tls import ClientTls
from tests.helpers import token
from tests.notification_helpers import wait_until
from tests.tls_helpers import Pem, Pki, make_pki

SERVING = health_pb2.HealthCheckResponse.SERVING
REGISTRY = "cdsp.registry.v1.RegistryService"
ADMIN = token("city_admin", ["/Ttls/"])


class TlsRegistry:
    def __init__(self, stack: devstack.Stack, pki: Pki, offset: int,
                 env: dict[str, str]) -> None:
        self.mine = devstack.Stack(state_dir=stack.state_dir / f"tls{offset}",
                                   identity_dir=stack.identity_dir or stack.state_dir / "identity",
                                   pg_port=stack.pg_port, kafka_port=stack.kafka_port,
                                   port_offset=stack.port_offset + offset,
                                   metrics_offset=(stack.metrics_offset or 0) + offset)
        self.mine.state_dir.mkdir(parents=True, exist_ok=True)
        self.addr = self.mine.grpc_addr("registry")
        self.health_addr = f"127.0.0.1:{int(self.addr.rsplit(':', 1)[1]) + 300}"
        self.pki = pki
        # The server's own copy of its pair, as a mounted Secret (a test renews it).
        self.pair = Pem(self.mine.state_dir / "tls.crt", self.mine.state_dir / "tls.key")
        self.pair.cert.write_bytes(pki.server.cert.read_bytes())
        self.pair.key.write_bytes(pki.server.key.read_bytes())
        proc = devstack.start_service(self.mine, "registry", {
            "CDSP_SHUTDOWN_GRACE_S": "2", "CDSP_GRPC_TLS_CERT": str(self.pair.cert),
            "CDSP_GRPC_TLS_KEY": str(self.pair.key), "CDSP_GRPC_HEALTH_ADDR": self.health_addr,
            **env}, wait=False)
        devstack.wait_until_serving(self.health_addr, proc=proc)
        with grpc.insecure_channel(self.health_addr) as channel:  # the names follow "" shortly
            wait_until(lambda: _status(channel, REGISTRY) == SERVING, "RegistryService SERVING")

    def tls(self, client: Pem | None = None, ca: Path | None = None) -> ClientTls:
        return ClientTls((ca or self.pki.ca).read_bytes(),
                         client.cert.read_bytes() if client else None,
                         client.key.read_bytes() if client else None)

    def stop(self) -> None:
        devstack.stop_service(self.mine, "registry")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("grpc-pki"))


@pytest.fixture
def tls_registry(stack: devstack.Stack, pki: Pki) -> Iterator[TlsRegistry]:
    server = TlsRegistry(stack, pki, 7, {})  # development: reflection on
    yield server
    server.stop()


@pytest.fixture
def mtls_registry(stack: devstack.Stack, pki: Pki) -> Iterator[TlsRegistry]:
    server = TlsRegistry(stack, pki, 8, {"CDSP_GRPC_TLS_CLIENT_CA": str(pki.ca),
                                         "CDSP_GRPC_REFLECTION": "false"})
    yield server
    server.stop()


def _status(channel: grpc.Channel, service: str) -> int | None:
    try:
        return health(channel, service)
    except grpc.RpcError:
        return None


def health(channel: grpc.Channel, service: str = "") -> int:
    reply = health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service=service), timeout=5)
    return int(reply.status)


def refused(channel: grpc.Channel) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as caught:
        health(channel)
    return caught.value.code()  # type: ignore[attr-defined, no-any-return]


def services(channel: grpc.Channel) -> set[str]:
    reply = next(iter(reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5)))
    return {s.name for s in reply.list_services_response.service}


def statistics(channel: grpc.Channel) -> pb.Statistics:
    return registry_pb2_grpc.RegistryServiceStub(channel).GetStatistics(
        pb.GetStatisticsRequest(jurisdiction_path="/Ttls/"), timeout=5)


def probe(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runtime.health_probe", *args],
                          env={**os.environ, "PYTHONPATH": str(devstack.ROOT / "services"), **env},
                          capture_output=True, text=True, timeout=30, check=False)


def test_tls_answers_over_tls_and_refuses_plaintext(tls_registry: TlsRegistry) -> None:
    server = tls_registry
    with grpc.insecure_channel(server.addr) as plain:
        assert refused(plain) == grpc.StatusCode.UNAVAILABLE
    with plain_or_tls_channel(server.addr, server.tls()) as channel:
        assert health(channel) == health(channel, REGISTRY) == SERVING
        assert {REGISTRY, "grpc.health.v1.Health"} <= services(channel)  # development
    with sync_channel(server.addr, ADMIN, server.tls()) as channel:
        assert statistics(channel).persons == 0
    # A client that trusts another CA does not trust this server.
    with plain_or_tls_channel(server.addr, server.tls(ca=server.pki.stranger.cert)) as channel:
        assert refused(channel) == grpc.StatusCode.UNAVAILABLE


def test_the_health_port_answers_probes_in_plaintext_and_nothing_else(
        tls_registry: TlsRegistry) -> None:
    server = tls_registry
    with grpc.insecure_channel(server.health_addr) as channel:
        assert health(channel) == health(channel, "cdsp.liveness") == SERVING
        with pytest.raises(grpc.RpcError) as caught:
            statistics(channel)
        assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED  # type: ignore[attr-defined]
        with pytest.raises(grpc.RpcError) as caught:
            services(channel)
        assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED  # type: ignore[attr-defined]


def test_the_runtime_s_clients_use_tls_when_given_the_ca(tls_registry: TlsRegistry) -> None:
    server = tls_registry
    ca = str(server.pki.ca)
    assert probe("--addr", server.addr, CDSP_GRPC_TLS_CA=ca).returncode == 0
    plain = probe("--addr", server.addr, "--timeout", "2")
    assert plain.returncode == 1 and "no answer" in plain.stderr
    # Inside the pod: the probe's default is the plaintext health port when there is one.
    assert probe(CDSP_GRPC_HEALTH_ADDR=server.health_addr).returncode == 0

    async def call() -> int:
        async with aio_channel(server.addr, ADMIN, server.tls()) as channel:
            reply = await registry_pb2_grpc.RegistryServiceStub(channel).GetStatistics(
                pb.GetStatisticsRequest(jurisdiction_path="/Ttls/"), timeout=5)
            return int(reply.persons)

    assert asyncio.run(call()) == 0


def test_a_renewed_certificate_serves_the_next_connection(tls_registry: TlsRegistry,
                                                          tmp_path: Path) -> None:
    """cert-manager rewrites the mounted Secret; the server needs no restart."""
    server = tls_registry
    renewed = make_pki(tmp_path / "renewed")
    server.pair.cert.write_bytes(renewed.server.cert.read_bytes())
    server.pair.key.write_bytes(renewed.server.key.read_bytes())
    with plain_or_tls_channel(server.addr, server.tls(ca=renewed.ca)) as channel:
        assert health(channel) == SERVING
    with plain_or_tls_channel(server.addr, server.tls()) as channel:
        assert refused(channel) == grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_refuses_a_client_without_a_certificate_of_its_ca(
        mtls_registry: TlsRegistry) -> None:
    server = mtls_registry
    with grpc.insecure_channel(server.addr) as plain:
        assert refused(plain) == grpc.StatusCode.UNAVAILABLE
    with plain_or_tls_channel(server.addr, server.tls()) as anonymous:
        assert refused(anonymous) == grpc.StatusCode.UNAVAILABLE
    with plain_or_tls_channel(server.addr, server.tls(server.pki.stranger)) as stranger:
        assert refused(stranger) == grpc.StatusCode.UNAVAILABLE
    with sync_channel(server.addr, ADMIN, server.tls(server.pki.client)) as channel:
        assert statistics(channel).persons == 0
    client = server.pki.client
    assert probe("--addr", server.addr, CDSP_GRPC_TLS_CA=str(server.pki.ca),
                 CDSP_GRPC_TLS_CERT=str(client.cert),
                 CDSP_GRPC_TLS_KEY=str(client.key)).returncode == 0
    assert probe("--addr", server.addr, "--timeout", "2",
                 CDSP_GRPC_TLS_CA=str(server.pki.ca)).returncode == 1


def test_reflection_switched_off_hides_the_service_list(mtls_registry: TlsRegistry) -> None:
    server = mtls_registry
    with plain_or_tls_channel(server.addr, server.tls(server.pki.client)) as channel:
        assert health(channel, REGISTRY) == SERVING
        with pytest.raises(grpc.RpcError) as caught:
            services(channel)
        assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED  # type: ignore[attr-defined]
