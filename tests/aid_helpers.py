"""Helpers for aid tests: an aid client for a test's tree, and waiting for the projection."""

from __future__ import annotations

import time

import psycopg

from cdsp.aid.v1 import aid_pb2_grpc
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
