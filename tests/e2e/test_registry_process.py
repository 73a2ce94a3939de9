"""End to end: the registry as its own process, called over gRPC like a client would, its event
read from the broker, its /metrics scraped, and a graceful SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import urllib.request
from collections.abc import Iterator

import grpc
import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

import devstack
from cdsp.registry.v1 import registry_pb2 as pb
from cdsp.registry.v1 import registry_pb2_grpc
from runtime.grpc_client import aio_channel
from tests.events import TopicReader
from tests.helpers import make_tree, person, token
from tests.notification_helpers import wait_until


@pytest.fixture
def own_registry(stack: devstack.Stack) -> Iterator[devstack.Stack]:
    """A registry process of this test's own, on ports of its own, sharing the database."""
    mine = devstack.Stack(state_dir=stack.state_dir / "e2e", pg_port=stack.pg_port,
                          kafka_port=stack.kafka_port, port_offset=stack.port_offset + 5,
                          metrics_offset=(stack.metrics_offset or 0) + 5,
                          identity_dir=stack.identity.folder)
    mine.state_dir.mkdir(parents=True, exist_ok=True)
    devstack.start_service(mine, "registry", {"CDSP_SHUTDOWN_GRACE_S": "10"})
    yield mine
    if "registry" in mine.procs:
        devstack.stop_service(mine, "registry")


def _metrics(stack: devstack.Stack) -> str:
    url = f"http://127.0.0.1:{stack.metrics_port('registry')}/metrics"
    return urllib.request.urlopen(url, timeout=5).read().decode()


def _value(page: str, prefix: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in page.splitlines()
               if line.startswith(prefix))


def test_call_event_metrics_health_reflection(own_registry: devstack.Stack) -> None:
    addr = own_registry.grpc_addr("registry")
    with grpc.insecure_channel(addr) as channel:
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(
            service="cdsp.registry.v1.RegistryService"))
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        reflected = next(iter(reflection_pb2_grpc.ServerReflectionStub(
            channel).ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(
                list_services="")]))))
        names = {s.name for s in reflected.list_services_response.service}
        assert {"cdsp.registry.v1.RegistryService", "grpc.health.v1.Health"} <= names

    tree = make_tree(addr)
    p = tree.register()
    reader = TopicReader(own_registry.kafka_bootstrap, "cdsp.registry.v1")
    try:
        [event] = reader.wait_for(lambda found: len(found) == 1, key=p.person_id)
    finally:
        reader.close()
    assert event.event_type == "cdsp.events.v1.PersonRegistered"

    # The relay counts an event (and then updates the backlog gauge) once the broker
    # acknowledged it and its row is marked: a moment after a reader may already see it.
    def counted() -> str:
        page = _metrics(own_registry)
        done = (_value(page, "cdsp_events_published_total{") >= 1
                and "cdsp_outbox_backlog_events 0.0" in page)
        return page if done else ""

    page = wait_until(counted, "the relay counted the published event", timeout=10)
    method = "/cdsp.registry.v1.RegistryService/RegisterPerson"
    assert _value(page, f'cdsp_grpc_requests_total{{code="OK",method="{method}"}}') == 1
    assert _value(page, f'cdsp_grpc_request_duration_seconds_count{{method="{method}"}}') == 1
    assert _value(page, 'cdsp_db_pool_connections{state="max"}') > 0
    for name in ("cdsp_outbox_oldest_event_age_seconds", "cdsp_db_pool_waiting_requests",
                 "cdsp_event_publish_delay_seconds_bucket"):
        assert name in page


async def test_sigterm_finishes_calls_and_flushes_the_outbox(own_registry: devstack.Stack) -> None:
    addr = own_registry.grpc_addr("registry")
    tree = make_tree(addr)
    household = tree.household()
    channel = aio_channel(addr, token("city_admin", [tree.city_path]))
    api = registry_pb2_grpc.RegistryServiceStub(channel)

    async def register() -> str | grpc.StatusCode:
        try:
            reply = await api.RegisterPerson(pb.RegisterPersonRequest(
                person=person(household.household_id)), timeout=20)
            return reply.person_id  # type: ignore[no-any-return]
        except grpc.aio.AioRpcError as exc:
            return exc.code()  # type: ignore[no-any-return]

    calls = [asyncio.create_task(register()) for _ in range(60)]
    await asyncio.sleep(0.05)
    proc = own_registry.procs["registry"]
    proc.send_signal(signal.SIGTERM)
    results = await asyncio.gather(*calls)
    await channel.close()
    code = await asyncio.to_thread(proc.wait, 30)
    own_registry.procs.pop("registry")
    assert code == 0
    done = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if not isinstance(r, str)]
    assert done, "calls in flight when SIGTERM arrived must finish"
    # Calls not yet started when the server stopped are refused, never half-done.
    assert {r for r in refused} <= {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED}
    async with await psycopg.AsyncConnection.connect(
            own_registry.database_url("registry")) as conn:
        await conn.execute("SELECT set_config('cdsp.scope', %s, false)", [tree.city_path + "%"])
        rows = await (await conn.execute("SELECT person_id::text FROM persons "
                                         "WHERE household_id = %s",
                                         [household.household_id])).fetchall()
    assert {r[0] for r in rows} == set(done)
    reader = TopicReader(own_registry.kafka_bootstrap, "cdsp.registry.v1")
    try:  # every call that succeeded has its event published before the process exited
        reader.wait_for(lambda envs: set(done) <= {e.aggregate_id for e in envs}, timeout=15)
    except AssertionError as exc:
        log = (own_registry.state_dir / "registry.log").read_text()[-4000:]
        raise AssertionError(f"{exc}\n{len(done)} calls done; the service's log:\n{log}") from None
    finally:
        reader.close()
