"""Integration fixtures: the registry running as its own process against the session's real
PostgreSQL and broker."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

import devstack
from tests.helpers import Tree, make_tree
from tests.notification_helpers import AidEvents, Endpoints, NotificationDb


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


# How the session's notification service runs: fast retries, no quiet hours or rate limit
# (those have tests of their own that restart it with them).
NOTIFY_ENV = {"CDSP_SHUTDOWN_GRACE_S": "5", "CDSP_NOTIFY_RETRY_BASE_MS": "200",
              "CDSP_NOTIFY_RETRY_CAP_MS": "2000", "CDSP_NOTIFY_QUIET_HOURS": "",
              "CDSP_NOTIFY_RATE_PER_HOUR": "0", "CDSP_NOTIFY_MAX_ATTEMPTS": "4"}


@pytest.fixture(scope="session")
def endpoints() -> Iterator[Endpoints]:
    servers = Endpoints()
    yield servers
    servers.close()


@pytest.fixture(scope="session")
def notification(stack: devstack.Stack, registry: str, endpoints: Endpoints) -> Iterator[str]:
    """The notification service, consuming the registry's and the aid service's events, with
    the local webhook receiver, SMS/voice provider and SMTP relay as its outside world."""
    devstack.start_service(stack, "notification", {**NOTIFY_ENV, **endpoints.env})
    yield stack.grpc_addr("notification")
    if "notification" in stack.procs:
        devstack.stop_service(stack, "notification")


@pytest.fixture(scope="session")
def notify_db(stack: devstack.Stack, notification: str) -> NotificationDb:
    return NotificationDb(stack.database_url("notification"))


@pytest.fixture
def aid_events(stack: devstack.Stack) -> Iterator[AidEvents]:
    events = AidEvents(stack.kafka_bootstrap)
    yield events
    events.close()


@pytest.fixture(scope="session")
def employment(stack: devstack.Stack, registry: str) -> Iterator[str]:
    """The employment service, consuming the registry's events into its candidates."""
    devstack.start_service(stack, "employment", {"CDSP_SHUTDOWN_GRACE_S": "5"})
    yield stack.grpc_addr("employment")
    if "employment" in stack.procs:
        devstack.stop_service(stack, "employment")


@pytest.fixture(scope="session")
def volunteer(stack: devstack.Stack, registry: str) -> Iterator[str]:
    """The volunteer service, consuming the registry's events and the aid service's warnings."""
    devstack.start_service(stack, "volunteer", {"CDSP_SHUTDOWN_GRACE_S": "5"})
    yield stack.grpc_addr("volunteer")
    if "volunteer" in stack.procs:
        devstack.stop_service(stack, "volunteer")


# How the session's partner gateway runs: fast retries, so a receiver that comes back is caught
# up within seconds.
PARTNER_ENV = {"CDSP_SHUTDOWN_GRACE_S": "5", "CDSP_PARTNER_RETRY_BASE_MS": "200",
               "CDSP_PARTNER_RETRY_CAP_MS": "1000", "CDSP_PARTNER_MAX_ATTEMPTS": "60"}


@pytest.fixture(scope="session")
def partner(stack: devstack.Stack, registry: str) -> Iterator[str]:
    """The partner gateway, consuming the registry's, aid's and employment's events."""
    devstack.start_service(stack, "partner", PARTNER_ENV)
    yield stack.grpc_addr("partner")
    if "partner" in stack.procs:
        devstack.stop_service(stack, "partner")
