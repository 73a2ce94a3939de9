"""Integration fixtures: the registry running as its own process against the session's real
PostgreSQL and broker."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

import devstack
from tests.helpers import Tree, make_tree


@pytest.fixture(scope="session")
def registry(stack: devstack.Stack) -> Iterator[str]:
    devstack.start_service(stack, "registry", {"CDSP_SHUTDOWN_GRACE_S": "5"})
    yield stack.grpc_addr("registry")
    if "registry" in stack.procs:
        devstack.stop_service(stack, "registry")


# How the session's aid service runs (tests that restart it use the same).
AID_ENV = {"CDSP_SHUTDOWN_GRACE_S": "5",
           "CDSP_AID_COMMUNITY_BUDGET_FEN": "1000000"}  # 10,000 yuan: tests can exhaust it


@pytest.fixture(scope="session")
def aid(stack: devstack.Stack, registry: str) -> Iterator[str]:
    """The aid service, consuming the registry's events into its projection."""
    devstack.start_service(stack, "aid", AID_ENV)
    yield stack.grpc_addr("aid")
    if "aid" in stack.procs:
        devstack.stop_service(stack, "aid")


@pytest.fixture
def tree(registry: str) -> Tree:
    return make_tree(registry)


@pytest.fixture
def registry_db(stack: devstack.Stack, registry: str) -> Iterator[psycopg.Connection]:
    """The registry's database as the service's own role (row-level security applies)."""
    with psycopg.connect(stack.database_url("registry"), autocommit=True) as conn:
        yield conn
