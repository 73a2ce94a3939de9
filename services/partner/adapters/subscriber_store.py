"""Subscribers in PostgreSQL (row-level security: an administrator sees their subtrees only;
the fan-out and the delivery workers read as the system)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from partner.domain.subscription import Subscription
from runtime.db import UnitOfWork
from runtime.errors import AlreadyExists

ACTIVE, PAUSED, REVOKED = 1, 2, 3
COLUMNS = ("subscriber_id::text, code, name, purpose, event_types, jurisdiction_path, fields, "
           "delivery, url, topic, principal, state, secret_sealed, old_secret_sealed, "
           "old_secret_until, pseudonym_key_sealed, created_at, changed_at, version")


@dataclass(frozen=True)
class SubscriberRow:
    subscriber_id: str
    code: str
    name: str
    purpose: str
    event_types: list[str]
    jurisdiction_path: str
    fields: list[str]
    delivery: str
    url: str
    topic: str
    principal: str
    state: int
    secret_sealed: bytes
    old_secret_sealed: bytes | None
    old_secret_until: datetime | None
    pseudonym_key_sealed: bytes
    created_at: datetime
    changed_at: datetime
    version: int


def _row(r: tuple[object, ...]) -> SubscriberRow:
    return SubscriberRow(*r)  # type: ignore[arg-type]


async def insert(uow: UnitOfWork, subscriber_id: str, s: Subscription, secret_sealed: bytes,
                 key_sealed: bytes, created_by: str) -> SubscriberRow:
    try:
        row = await uow.fetchone(
            "INSERT INTO subscribers (subscriber_id, code, name, purpose, event_types, "
            "jurisdiction_path, fields, delivery, url, topic, principal, secret_sealed, "
            "pseudonym_key_sealed, created_by) VALUES "
            "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING " + COLUMNS,
            [subscriber_id, s.code, s.name, s.purpose, s.event_types, s.jurisdiction_path,
             s.fields, s.delivery, s.url, s.topic, s.principal, secret_sealed, key_sealed,
             created_by])
    except psycopg.errors.UniqueViolation:
        raise AlreadyExists(f"subscriber.code: a subscriber with code {s.code!r} exists "
                            "(codes are never reused: they name topics)") from None
    assert row is not None
    return _row(row)


async def get(uow: UnitOfWork, subscriber_id: str, lock: bool = False) -> SubscriberRow | None:
    row = await uow.fetchone(f"SELECT {COLUMNS} FROM subscribers WHERE subscriber_id = %s"
                             + (" FOR UPDATE" if lock else ""), [subscriber_id])
    return _row(row) if row else None


async def page(uow: UnitOfWork, include_revoked: bool, after: str, limit: int
               ) -> list[SubscriberRow]:
    rows = await uow.fetchall(
        f"SELECT {COLUMNS} FROM subscribers WHERE (%s OR state <> {REVOKED}) "
        "AND (%s = '' OR subscriber_id > %s::uuid) ORDER BY subscriber_id LIMIT %s",
        [include_revoked, after, after or None, limit + 1])
    return [_row(r) for r in rows]


async def receivers(uow: UnitOfWork, event_type: str, path: str) -> list[SubscriberRow]:
    """Active and paused subscribers of `event_type` whose subtree holds `path`."""
    rows = await uow.fetchall(
        f"SELECT {COLUMNS} FROM subscribers WHERE state IN ({ACTIVE}, {PAUSED}) "
        "AND %s = ANY (event_types) AND starts_with(%s, jurisdiction_path) "
        "ORDER BY subscriber_id", [event_type, path])
    return [_row(r) for r in rows]


async def set_state(uow: UnitOfWork, subscriber_id: str, state: int) -> SubscriberRow:
    row = await uow.fetchone(
        "UPDATE subscribers SET state = %s, changed_at = now(), version = version + 1 "
        f"WHERE subscriber_id = %s RETURNING {COLUMNS}", [state, subscriber_id])
    assert row is not None
    return _row(row)


async def set_secret(uow: UnitOfWork, subscriber_id: str, sealed: bytes,
                     old_sealed: bytes | None, old_until: datetime | None) -> SubscriberRow:
    row = await uow.fetchone(
        "UPDATE subscribers SET secret_sealed = %s, old_secret_sealed = %s, "
        "old_secret_until = %s, changed_at = now(), version = version + 1 "
        f"WHERE subscriber_id = %s RETURNING {COLUMNS}",
        [sealed, old_sealed, old_until, subscriber_id])
    assert row is not None
    return _row(row)
