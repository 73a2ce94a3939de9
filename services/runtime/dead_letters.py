"""The dead-letter table: records a consumer could not process, parked with their error so the
partition moves on, and what an operator does with them (list, replay, discard).

A replay is carried out by the running service, not by the command: `request_replay` marks rows,
and the consumer that owns their group (EventConsumer's retry loop, in any replica) processes
each record again with its own handlers. Success removes the row; a new failure keeps it with
the new error and clears the request. The command waits for the outcome and reports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from runtime.auth import SYSTEM
from runtime.db import Database, UnitOfWork
from runtime.logs import mask_personal_data
from runtime.metrics import DEAD_LETTERS

MAX_ERROR = 2000


@dataclass(frozen=True)
class ParkedRecord:
    """A parked record, shaped like the broker's record so a consumer can process it again."""

    id: int
    consumer: str
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    event_id: str | None
    event_type: str | None
    error: str
    attempts: int
    parked_at: datetime
    replay_requested_at: datetime | None


_COLUMNS = ("id, consumer, topic, partition, record_offset, record_key, payload, event_id, "
            "event_type, error, attempts, parked_at, replay_requested_at")


def _parked(row: Any) -> ParkedRecord:
    return ParkedRecord(row[0], row[1], row[2], row[3], row[4],
                        row[5].encode() if row[5] is not None else None,
                        bytes(row[6]) if row[6] is not None else b"", row[7], row[8], row[9],
                        row[10], row[11], row[12])


async def park(uow: UnitOfWork, consumer: str, record: Any, event_id: str | None,
               event_type: str | None, error: str, attempts: int) -> None:
    """Parks a record (or, for one parked before and replayed, records its new error)."""
    await uow.execute(
        "INSERT INTO dead_letter (consumer, topic, partition, record_offset, record_key, "
        "event_id, event_type, payload, error, attempts) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (consumer, topic, partition, record_offset) DO UPDATE SET "
        "error = EXCLUDED.error, attempts = dead_letter.attempts + EXCLUDED.attempts, "
        "parked_at = now(), replay_requested_at = NULL",
        [consumer, record.topic, record.partition, record.offset,
         record.key.decode(errors="replace") if record.key else None, event_id, event_type,
         record.value, mask_personal_data(error)[:MAX_ERROR], attempts])


async def replays_requested(uow: UnitOfWork, consumer: str, limit: int) -> list[ParkedRecord]:
    rows = await uow.fetchall(
        f"SELECT {_COLUMNS} FROM dead_letter WHERE consumer = %s "
        "AND replay_requested_at IS NOT NULL ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
        [consumer, limit])
    return [_parked(r) for r in rows]


async def remove(uow: UnitOfWork, ids: list[int]) -> int:
    rows = await uow.fetchall("DELETE FROM dead_letter WHERE id = ANY(%s) RETURNING id", [ids])
    return len(rows)


async def listing(db: Database, consumer: str = "", ids: list[int] | None = None
                  ) -> list[ParkedRecord]:
    where: list[str] = ["true"]
    params: list[object] = []
    if consumer:
        where.append("consumer = %s")
        params.append(consumer)
    if ids:
        where.append("id = ANY(%s)")
        params.append(ids)
    async with db.unit_of_work(SYSTEM) as uow:
        rows = await uow.fetchall(f"SELECT {_COLUMNS} FROM dead_letter "
                                  f"WHERE {' AND '.join(where)} ORDER BY id", params)
    return [_parked(r) for r in rows]


async def request_replay(db: Database, ids: list[int]) -> list[int]:
    """Marks rows for replay; returns the ids that exist."""
    async with db.unit_of_work(SYSTEM) as uow:
        rows = await uow.fetchall("UPDATE dead_letter SET replay_requested_at = now() "
                                  "WHERE id = ANY(%s) RETURNING id", [ids])
    return sorted(int(r[0]) for r in rows)


async def discard(db: Database, ids: list[int]) -> list[int]:
    async with db.unit_of_work(SYSTEM) as uow:
        rows = await uow.fetchall("DELETE FROM dead_letter WHERE id = ANY(%s) RETURNING id",
                                  [ids])
    await refresh_gauge(db)
    return sorted(int(r[0]) for r in rows)


async def refresh_gauge(db: Database) -> int:
    """Sets cdsp_dead_letter_events to the rows in this service's dead_letter table: every
    replica runs it on a timer (runtime.server), so the figure survives a restart and falls when
    an operator replays or removes parked events."""
    async with db.unit_of_work(SYSTEM) as uow:
        row = await uow.fetchone("SELECT count(*) FROM dead_letter")
    count = int(row[0]) if row else 0
    DEAD_LETTERS.set(count)
    return count
