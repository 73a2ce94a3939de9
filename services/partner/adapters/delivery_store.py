"""Deliveries in PostgreSQL: one row per event and subscriber, in order per subject.

A worker claims only the head of each subject (its lowest sequence still waiting), and only for
active subscribers, so a subject's event n+1 is never sent before n is acknowledged, and two
replicas never send one delivery at once (FOR UPDATE SKIP LOCKED and a lease). A dead-lettered
head holds its subject until it is replayed: order over liveness (a subscriber that trusts the
sequence must never see n+1 before n); other subjects go on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from runtime.db import UnitOfWork

PENDING, DELIVERED, DEAD, DROPPED = 0, 1, 2, 3
CHANNEL = "cdsp_partner_deliveries"


@dataclass(frozen=True)
class Claimed:
    delivery_id: str
    subscriber_id: str
    code: str
    event: bytes
    event_id: str
    attempts: int
    created_at: datetime
    url: str
    topic: str
    subject: str
    secret_sealed: bytes
    old_secret_sealed: bytes | None
    old_secret_until: datetime | None


async def next_sequence(uow: UnitOfWork, subscriber_id: str, subject: str) -> int:
    row = await uow.fetchone(
        "INSERT INTO subject_sequences (subscriber_id, subject, last_sequence) "
        "VALUES (%s, %s, 1) ON CONFLICT (subscriber_id, subject) DO UPDATE "
        "SET last_sequence = subject_sequences.last_sequence + 1 RETURNING last_sequence",
        [subscriber_id, subject])
    assert row is not None
    return int(row[0])


async def insert(uow: UnitOfWork, delivery_id: str, subscriber_id: str, event_id: str,
                 type_name: str, subject: str, sequence: int, event: bytes) -> None:
    await uow.execute(
        "INSERT INTO deliveries (delivery_id, subscriber_id, event_id, type, subject, sequence, "
        "event) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        [delivery_id, subscriber_id, event_id, type_name, subject, sequence, event])


async def notify(uow: UnitOfWork) -> None:
    await uow.execute(f"NOTIFY {CHANNEL}")


async def claim(uow: UnitOfWork, delivery: str, limit: int, lease_s: int) -> list[Claimed]:
    """Due heads of subjects of active `delivery` (webhook or kafka) subscribers, leased."""
    rows = await uow.fetchall(
        "WITH heads AS (SELECT DISTINCT ON (d.subscriber_id, d.subject) d.delivery_id, d.state "
        "  FROM deliveries d JOIN subscribers s USING (subscriber_id) "
        "  WHERE d.state IN (0, 2) AND s.state = 1 AND s.delivery = %s "
        "  ORDER BY d.subscriber_id, d.subject, d.sequence), "
        "picked AS (SELECT d.delivery_id FROM deliveries d JOIN heads h USING (delivery_id) "
        "  WHERE h.state = 0 AND d.next_attempt_at <= now() "
        "  AND (d.lease_until IS NULL OR d.lease_until < now()) "
        "  ORDER BY d.next_attempt_at LIMIT %s FOR UPDATE OF d SKIP LOCKED) "
        "UPDATE deliveries d SET lease_until = now() + make_interval(secs => %s) "
        "FROM picked, subscribers s WHERE d.delivery_id = picked.delivery_id "
        "AND s.subscriber_id = d.subscriber_id "
        "RETURNING d.delivery_id::text, d.subscriber_id::text, s.code, d.event, "
        "d.event_id::text, d.attempts, d.created_at, s.url, s.topic, d.subject, "
        "s.secret_sealed, s.old_secret_sealed, s.old_secret_until",
        [delivery, limit, lease_s])
    return [Claimed(*r) for r in rows]  # type: ignore[arg-type]


async def delivered(uow: UnitOfWork, ids: list[str]) -> None:
    await uow.execute(
        "UPDATE deliveries SET state = 1, attempts = attempts + 1, delivered_at = now(), "
        "lease_until = NULL, last_error = '' WHERE delivery_id = ANY (%s::uuid[]) AND state = 0",
        [ids])


async def failed(uow: UnitOfWork, delivery_id: str, error: str, retry_in_s: float,
                 dead: bool) -> None:
    await uow.execute(
        "UPDATE deliveries SET attempts = attempts + 1, last_error = %s, lease_until = NULL, "
        "next_attempt_at = now() + make_interval(secs => %s), "
        "state = CASE WHEN %s THEN 2 ELSE 0 END, "
        "failed_at = CASE WHEN %s THEN now() ELSE failed_at END "
        "WHERE delivery_id = %s AND state = 0",
        [error[:500], retry_in_s, dead, dead, delivery_id])


async def drop_all(uow: UnitOfWork, subscriber_id: str) -> int:
    """A revoked subscriber's waiting deliveries: dropped, never sent."""
    rows = await uow.fetchall("UPDATE deliveries SET state = 3, lease_until = NULL "
                              "WHERE subscriber_id = %s AND state IN (0, 2) RETURNING 1",
                              [subscriber_id])
    return len(rows)


async def dead_letters(uow: UnitOfWork, subscriber_id: str, after: str, limit: int
                       ) -> list[tuple[str, str, str, str, int, str, datetime]]:
    rows = await uow.fetchall(
        "SELECT delivery_id::text, event_id::text, type, subject, attempts, last_error, "
        "failed_at FROM deliveries WHERE subscriber_id = %s AND state = 2 "
        "AND (%s = '' OR delivery_id > %s::uuid) ORDER BY delivery_id LIMIT %s",
        [subscriber_id, after, after or None, limit + 1])
    return [tuple(r) for r in rows]  # type: ignore[misc]


async def replay(uow: UnitOfWork, subscriber_id: str, ids: list[str]) -> int:
    """Dead letters back to pending, attempts from zero, due now (all of the subscriber's when
    `ids` is empty)."""
    rows = await uow.fetchall(
        "UPDATE deliveries SET state = 0, attempts = 0, next_attempt_at = now(), "
        "lease_until = NULL, failed_at = NULL WHERE subscriber_id = %s AND state = 2 "
        "AND (cardinality(%s::uuid[]) = 0 OR delivery_id = ANY (%s::uuid[])) RETURNING 1",
        [subscriber_id, ids, ids])
    return len(rows)


async def backlog(uow: UnitOfWork) -> list[tuple[str, int, float]]:
    """Per subscriber code: deliveries waiting (pending or dead), age of the oldest (s)."""
    rows = await uow.fetchall(
        "SELECT s.code, count(d.delivery_id), "
        "coalesce(extract(epoch FROM now() - min(d.created_at)), 0)::float8 "
        "FROM subscribers s LEFT JOIN deliveries d ON d.subscriber_id = s.subscriber_id "
        "AND d.state IN (0, 2) WHERE s.state <> 3 GROUP BY s.code")
    return [(r[0], int(r[1]), float(r[2])) for r in rows]
