"""Helpers for aid tests: an aid client for a test's tree, waiting for the projection (persons,
households, jurisdictions), and opening a case to grant relief on."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

import devstack
from cdsp.aid.v1 import aid_pb2 as pb
from cdsp.aid.v1 import aid_pb2_grpc
from cdsp.registry.v1 import registry_pb2 as rpb
from runtime.grpc_client import sync_channel
from tests.helpers import Tree, token


def aid_stub(addr: str, tok: str) -> aid_pb2_grpc.AidServiceStub:
    return aid_pb2_grpc.AidServiceStub(sync_channel(addr, tok))


def aid_admin(tree: Tree, addr: str) -> aid_pb2_grpc.AidServiceStub:
    return aid_stub(addr, token("city_admin", [tree.city_path]))


def wait_projected(aid_db_url: str, person_ids: list[str], timeout: float = 30.0) -> None:
    """Waits until the aid service's projection holds these persons at their latest version
    (it follows the registry's events asynchronously)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(aid_db_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            with conn.transaction():
                conn.execute("SELECT set_config('cdsp.scope', '/%', true)")
                row = conn.execute("SELECT count(*) FROM persons p JOIN households h "
                                   "USING (household_id) WHERE person_id = ANY(%s)",
                                   [person_ids]).fetchone()
            if row and row[0] == len(person_ids):
                return
            time.sleep(0.1)
    raise AssertionError(f"persons {person_ids} not projected into aid after {timeout}s")


def wait_jurisdictions(aid_db_url: str, codes: list[str], version: int = 1,
                       timeout: float = 30.0) -> None:
    """Waits until the aid service's projection holds these jurisdictions at `version` or later
    (the minimum living standard that caps relief comes from them)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(aid_db_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute("SELECT count(*) FROM jurisdictions WHERE code = ANY(%s) "
                               "AND version >= %s", [codes, version]).fetchone()
            if row and row[0] == len(codes):
                return
            time.sleep(0.1)
    raise AssertionError(f"jurisdictions {codes} not at version {version} in aid after "
                         f"{timeout}s")


def open_case(api: aid_pb2_grpc.AidServiceStub, household_id: str) -> pb.AidCase:
    """The household's open case, opened (or found) by reporting an accident."""
    reply = api.ReportHardship(pb.ReportHardshipRequest(household_id=household_id,
                                                        kind=pb.HARDSHIP_KIND_ACCIDENT))
    assert reply.HasField("case")
    return reply.case


def relief_ready(tree: Tree, aid_db_url: str, household: rpb.Household) -> str:
    """Registers a member of the household and waits until the aid service knows them and the
    city's minimum living standard; returns the member's person id."""
    person_id: str = tree.register(household).person_id
    wait_projected(aid_db_url, [person_id])
    wait_jurisdictions(aid_db_url, [tree.city])
    return person_id


@contextmanager
def own_aid_process(stack: devstack.Stack, name: str, env: dict[str, str], slot: int,
                    session_env: dict[str, str]) -> Iterator[devstack.Stack]:
    """An aid process of a test's own, with `env`, on ports of its own (`slot`: 1-9, one per
    kind of test), sharing the session's aid database. The session's aid process (started with
    `session_env`) is stopped meanwhile, so its scans never race this one's; it is started again
    after."""
    mine = devstack.Stack(state_dir=stack.state_dir / name, pg_port=stack.pg_port,
                          kafka_port=stack.kafka_port, port_offset=stack.port_offset + slot,
                          metrics_offset=(stack.metrics_offset or 0) + slot,
                          identity_dir=stack.identity.folder)
    mine.state_dir.mkdir(parents=True, exist_ok=True)
    shared_running = "aid" in stack.procs
    if shared_running:
        devstack.stop_service(stack, "aid")
    try:
        devstack.start_service(mine, "aid", env)
        yield mine
    finally:
        if "aid" in mine.procs:
            devstack.stop_service(mine, "aid")
        if shared_running:
            devstack.start_service(stack, "aid", session_env)
