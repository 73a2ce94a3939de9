"""Work held until what it names arrives.

An event may name something its consumer's projection does not hold yet: a WarningRaised for a
person registered a minute ago, while the registry's topic lags. Planning it now would lose it
(a notice "undeliverable" for ever, a colour rule that skips the person). Instead the handler
calls `wait_for(["person:<id>"])`, which raises WaitFor; the consumer then stores the event in
`pending_events`, in the same transaction as its inbox row, and moves on: later events are not
held up behind it (each pending event stands alone; handlers that may wait must not depend on
the order of events of different aggregates).

A pending event is tried again
- when something it waits for arrives: after applying a poll, every consumer of the service wakes
  the pending events waiting for the aggregates of that poll's events (`<aggregate_type>:<id>`:
  a person's events wake "person:<id>"), and a projection may wake more keys with `release`
  (the notification service's recipients wake "household:<id>" for a member's household);
- otherwise on a backoff (1 s doubling up to a minute);
- at `expires_at` (CDSP_PENDING_MAX_WAIT_S after it was first seen, default an hour) a last time
  with waiting disallowed: the handler finishes with what it has (a notice planned as
  undeliverable, a colour raised for the persons it knows), a PendingEventExpired event is
  published and cdsp_pending_events_expired_total counts it. Nothing is dropped in silence.

Retries run in the consumer's service (EventConsumer's retry loop): a short transaction leases due
rows (FOR UPDATE SKIP LOCKED), then each is handled in its own transaction that locks the
pending row last, after whatever the handler locks, in the order the waking side locks them too.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cdsp.events.v1.envelope_pb2 import Envelope
from runtime.db import UnitOfWork
from runtime.settings import env_int

MAX_WAIT_S = env_int("CDSP_PENDING_MAX_WAIT_S", 3600, 1, 30 * 86400)
BACKOFF_FIRST_S, BACKOFF_MAX_S = 1, 60
LEASE_S = 60

_waiting_allowed: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "cdsp_pending_waiting_allowed", default=True)


class WaitFor(Exception):
    """Raised by a handler: the event needs these keys ("person:<id>") to arrive first."""

    def __init__(self, keys: list[str]) -> None:
        super().__init__(f"waiting for {', '.join(keys)}")
        self.keys = sorted(set(keys))


def wait_for(keys: Iterable[str]) -> None:
    """Holds the event until these keys arrive: raises WaitFor, unless `keys` is empty or this is
    the event's last attempt (then it returns, and the handler goes on with what it has)."""
    missing = list(keys)
    if missing and _waiting_allowed.get():
        raise WaitFor(missing)


def may_wait() -> bool:
    """False during an event's last attempt (its wait is over)."""
    return _waiting_allowed.get()


@contextmanager
def last_attempt() -> Iterator[None]:
    """While active, wait_for never raises: the event's wait is over."""
    token = _waiting_allowed.set(False)
    try:
        yield
    finally:
        _waiting_allowed.reset(token)


def person_keys(person_ids: Iterable[str]) -> list[str]:
    return [f"person:{p}" for p in person_ids]


def aggregate_key(envelope: Envelope) -> str:
    return f"{envelope.aggregate_type}:{envelope.aggregate_id}"


async def defer(uow: UnitOfWork, consumer: str, record: Any, envelope: Envelope,
                keys: list[str]) -> None:
    """Stores the event as pending (in the consumer's transaction, with its inbox row)."""
    await uow.execute(
        "INSERT INTO pending_events (consumer, event_id, topic, partition, record_offset, "
        "record_key, event_type, envelope, waiting_for, expires_at, next_attempt_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, now() + make_interval(secs => %s), "
        "now() + make_interval(secs => %s)) ON CONFLICT DO NOTHING",
        [consumer, envelope.event_id, record.topic, record.partition, record.offset,
         record.key.decode(errors="replace") if record.key else None, envelope.event_type,
         record.value, keys, MAX_WAIT_S, BACKOFF_FIRST_S])


async def release(uow: UnitOfWork, keys: list[str]) -> None:
    """Wakes the pending events waiting for any of `keys` (they are tried again at once). The
    statement is pipelined: it costs no round trip of its own."""
    if keys:
        await uow.execute("UPDATE pending_events SET next_attempt_at = now() "
                          "WHERE waiting_for && %s::text[] AND next_attempt_at > now()", [keys])


@dataclass(frozen=True)
class PendingRow:
    event_id: str
    topic: str
    partition: int
    record_offset: int
    record_key: str | None
    envelope: bytes
    waiting_for: list[str]
    first_seen_at: datetime
    expired: bool
    attempts: int


async def lease_due(uow: UnitOfWork, consumer: str, limit: int) -> list[PendingRow]:
    """Leases the consumer's pending events that are due or expired (a replica holds them for
    LEASE_S; another replica skips them meanwhile)."""
    rows = await uow.fetchall(
        "UPDATE pending_events p SET leased_until = now() + make_interval(secs => %s) "
        "FROM (SELECT consumer, event_id FROM pending_events WHERE consumer = %s "
        "      AND (next_attempt_at <= now() OR expires_at <= now()) "
        "      AND (leased_until IS NULL OR leased_until < now()) "
        "      ORDER BY next_attempt_at LIMIT %s FOR UPDATE SKIP LOCKED) due "
        "WHERE p.consumer = due.consumer AND p.event_id = due.event_id "
        "RETURNING p.event_id::text, p.topic, p.partition, p.record_offset, p.record_key, "
        "p.envelope, p.waiting_for, p.first_seen_at, p.expires_at <= now(), p.attempts",
        [LEASE_S, consumer, limit])
    return [PendingRow(r[0], r[1], r[2], r[3], r[4], bytes(r[5]), list(r[6]), r[7], r[8], r[9])
            for r in rows]


async def finish(uow: UnitOfWork, consumer: str, event_id: str) -> None:
    await uow.execute("DELETE FROM pending_events WHERE consumer = %s AND event_id = %s",
                      [consumer, event_id])


async def keep_waiting(uow: UnitOfWork, consumer: str, row: PendingRow, keys: list[str]
                       ) -> None:
    """Still missing something: the next try after a backoff, or at once when something it
    waits for arrived while it was being tried."""
    backoff = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** min(row.attempts, 10))
    await uow.execute(
        "UPDATE pending_events SET attempts = attempts + 1, waiting_for = %s, "
        "leased_until = NULL, next_attempt_at = least(expires_at, now() + "
        "make_interval(secs => %s)) WHERE consumer = %s AND event_id = %s",
        [keys, backoff, consumer, row.event_id])


async def count(uow: UnitOfWork, consumer: str) -> int:
    row = await uow.fetchone("SELECT count(*) FROM pending_events WHERE consumer = %s",
                             [consumer])
    return int(row[0]) if row else 0

