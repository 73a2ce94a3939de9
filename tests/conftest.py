"""The test session's own platform: a private PostgreSQL cluster and Kafka-protocol broker on
ports of their own (so a running `make up` stack is never touched), started once per session.
Tests that need no I/O (tests/unit) never start them."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import devstack
from tests.helpers import SESSION_STATE


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that restart the session's broker (which keeps nothing) run after all the others:
    the running services' consumers take up to a minute to find their way back (Tansu answers
    some fetches only after 30 s), and no other test should have to wait for that."""
    items.sort(key=lambda item: item.get_closest_marker("restarts_broker") is not None)


@pytest.fixture(scope="session", autouse=True)
def session_state() -> Iterator[Path]:
    """The session's state folder, removed at the end (tokens made it, even without a stack)."""
    yield SESSION_STATE
    shutil.rmtree(SESSION_STATE, ignore_errors=True)


SLOTS = 40


def free_slot(first: int) -> int:
    """The first slot from `first` on whose PostgreSQL, broker and registry ports nobody holds:
    another session on this machine (another developer's, a CI run) may hold the slot its own
    process id chose, and sharing a broker or a port makes both fail in ways that look like bugs."""
    for step in range(SLOTS):
        slot = (first + step) % SLOTS
        if not any(devstack.port_open(port) for port in
                   (26000 + slot, 19300 + slot, 20051 + 10 * slot, 20055 + 10 * slot)):
            return slot
    raise RuntimeError(f"all {SLOTS} test slots are in use on this machine")


@pytest.fixture(scope="session")
def stack() -> Iterator[devstack.Stack]:
    state = SESSION_STATE
    # Ports of this session's own: several test sessions may run at once on one machine. All
    # below Linux's ephemeral range (32768-60999), where an outgoing connection's local port
    # could take a port a service is about to listen on: gRPC 20051+, metrics 10101+,
    # PostgreSQL 26000+, broker 19300+.
    slot = free_slot(os.getpid() % SLOTS)
    # The services read the session's JWKS and revocation list as files, the list every second
    # (tests of revocation wait for it).
    stack = devstack.Stack(state_dir=state, pg_port=26000 + slot, kafka_port=19300 + slot,
                           port_offset=-30000 + 10 * slot, metrics_offset=1000 + 10 * slot,
                           revocations_refresh_s=1)
    # Registry code a test runs in its own process seals and opens with the stack's keys.
    os.environ.update(stack.pii_env())
    devstack.start_postgres(stack)
    devstack.start_broker(stack)
    try:
        yield stack
    finally:
        for service in list(stack.procs):
            if service != "broker":
                devstack.stop_service(stack, service)
        devstack.stop_broker(stack)
        devstack.stop_postgres(stack)
        shutil.rmtree(stack.pg_data, ignore_errors=True)
        shutil.rmtree(state, ignore_errors=True)
