"""PostgreSQL access: a psycopg 3 async connection pool and the unit of work.

A unit of work is one transaction. It sets the caller's jurisdictions for row-level security
(`cdsp.scope`, local to the transaction), collects the events the change causes, and on success
writes them to the outbox in the same transaction and commits; on any error everything is rolled
back, events included, so nothing half-written is left behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any

import psycopg
from google.protobuf.message import Message
from psycopg import AsyncConnection, AsyncCursor
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from runtime.auth import Caller
from runtime.events import OutgoingEvent, build_envelope
from runtime.interceptors import request_id

OUTBOX_CHANNEL = "cdsp_outbox"
# SQLSTATE classes that say the database (not the statement) is in trouble: connection exceptions,
# insufficient resources, operator intervention (shutdown, cannot connect now), system errors, and
# transaction rollbacks (serialization failures, deadlocks) that succeed when simply run again.
OUTAGE_STATES = ("08", "53", "57P", "58", "40")


def is_outage(exc: BaseException) -> bool:
    """True when the database cannot serve right now (connection lost, server shutting down or
    out of resources, pool exhausted, a deadlock to run again): work is retried unchanged once it
    is back. False for an error of the statement itself (a statement timeout, a constraint, bad
    data): running it again fails again, so the work is at fault."""
    if isinstance(exc, PoolTimeout | psycopg.InterfaceError):
        return True
    if isinstance(exc, psycopg.OperationalError | psycopg.errors.TransactionRollback):
        state = exc.sqlstate
        return state is None or state.startswith(OUTAGE_STATES)
    return False


class Database:
    def __init__(self, url: str, service: str, min_size: int = 2, max_size: int = 20) -> None:
        self.service = service
        self.topic = f"cdsp.{service}.v1"
        self.pool: AsyncConnectionPool[AsyncConnection[TupleRow]] = AsyncConnectionPool(
            url, min_size=min_size, max_size=max_size, open=False, timeout=10,
            kwargs={"autocommit": False, "application_name": f"cdsp-{service}"})

    async def open(self) -> None:
        await self.pool.open(wait=True, timeout=60)

    async def close(self) -> None:
        await self.pool.close()

    def unit_of_work(self, caller: Caller) -> UnitOfWork:
        return UnitOfWork(self, caller)

    def stats(self) -> dict[str, int]:
        return self.pool.get_stats()


class UnitOfWork:
    def __init__(self, db: Database, caller: Caller) -> None:
        self.db = db
        self.caller = caller
        self.events: list[OutgoingEvent] = []

    async def __aenter__(self) -> UnitOfWork:
        # The lease and the pipeline are undone in reverse order when the unit ends, and also
        # when its set-up fails (a subject psycopg refuses, a cancelled call): __aexit__ does not
        # run then, and a connection left leased would be lost to the pool for good.
        async with AsyncExitStack() as held:
            self.conn: AsyncConnection[TupleRow] = await held.enter_async_context(
                self.db.pool.connection())
            # Pipeline mode: statements whose results nobody reads (the scope below, the outbox
            # rows, NOTIFY) travel with the next one that is read instead of costing a round trip.
            await held.enter_async_context(self.conn.pipeline())
            await self.conn.execute(
                "SELECT set_config('cdsp.scope', %s, true), set_config('cdsp.actor', %s, true)",
                [self.caller.row_filter, self.caller.subject])
            self._held = held.pop_all()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            if exc is None:
                if self.events:
                    await self._write_outbox()
                await self.conn.commit()
            else:
                await self.conn.rollback()
        finally:
            await self._held.__aexit__(exc_type, exc, tb)

    async def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
                      ) -> AsyncCursor[TupleRow]:
        return await self.conn.execute(sql, params)  # type: ignore[arg-type]

    async def fetchone(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
                       ) -> TupleRow | None:
        return await (await self.execute(sql, params)).fetchone()

    async def fetchall(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
                       ) -> list[TupleRow]:
        return await (await self.execute(sql, params)).fetchall()

    async def with_scope(self, caller: Caller) -> None:
        """Changes the row-level security scope for the rest of this transaction."""
        await self.conn.execute("SELECT set_config('cdsp.scope', %s, true)", [caller.row_filter])

    def record(self, payload: Message, *, aggregate_type: str, aggregate_id: str, version: int,
               jurisdiction_path: str, snapshot: bool = False, topic: str | None = None) -> None:
        """Adds an event; it reaches the outbox only if this unit of work commits. `snapshot`:
        the aggregate's current state re-published (runtime.snapshots), not a change. `topic`:
        another topic than cdsp.<service>.v1 (a restricted one of the service's own, such as the
        registry's contacts; the audit log's cdsp.audit.v1, which every service writes)."""
        envelope = build_envelope(payload, aggregate_type=aggregate_type,
                                  aggregate_id=aggregate_id, version=version,
                                  jurisdiction_path=jurisdiction_path, producer=self.db.service,
                                  actor=self.caller.subject, request_id=request_id.get(),
                                  snapshot=snapshot)
        self.events.append(OutgoingEvent(topic or self.db.topic, aggregate_id, envelope))

    async def _write_outbox(self) -> None:
        """All the unit's events in one statement (arrays unnested), however many there are:
        a scan that announces thousands of events costs one round trip, not one per event."""
        events = self.events
        await self.conn.execute(
            "INSERT INTO outbox (event_id, topic, record_key, event_type, envelope) "
            "SELECT * FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::text[], %s::bytea[])",
            [[e.event_id for e in events], [e.topic for e in events], [e.key for e in events],
             [e.envelope.event_type for e in events],
             [e.envelope.SerializeToString() for e in events]])
        await self.conn.execute(f"NOTIFY {OUTBOX_CHANNEL}")
