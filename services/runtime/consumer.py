"""The event consumer base: consumer groups, order, inbox deduplication, pending work, dead
letters.

A thread polls Kafka (kafka-python is not asyncio) and hands each poll to the service's event loop,
where its records are applied in one unit of work together with their inbox rows, in offset order
per partition: a batch handler (set-based SQL) only ever takes a run of consecutive records of its
type, so a person's archive is never applied before that person's registration. Offsets are
committed only after that transaction commits, so a crash re-delivers and the inbox turns the
re-delivery into a no-op.

- A record whose handler fails is tried alone (its own transaction, with retries); if it keeps
  failing, or the database refuses its statement for good (a statement timeout, a constraint), it
  is parked in the dead-letter table with its error and the partition moves on.
- If the database itself is unavailable (runtime.db.is_outage) nothing is parked: the consumer
  rewinds and retries until it is back.
- A handler that needs a record its projection does not hold yet calls runtime.pending.wait_for
  (before it writes anything): the event is stored as pending and finished later.
- A snapshot event (Envelope.snapshot, a re-publication for rebuilding) reaches only handlers
  marked with `applies_snapshots`: projections. Handlers with side effects never see it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from google.protobuf.message import DecodeError, Message

from cdsp.events.v1.envelope_pb2 import Envelope
from runtime import dead_letters, pending
from runtime.auth import SYSTEM
from runtime.consumer_retry import RetryLoop
from runtime.consumer_thread import PollingThread
from runtime.db import Database, UnitOfWork, is_outage
from runtime.events import unpack_payload
from runtime.metrics import EVENTS_CONSUMED

log = logging.getLogger("cdsp.consumer")
Handler = Callable[[Envelope, Message, UnitOfWork], Awaitable[None]]
# Handles a run of consecutive events of one type in one go (set-based SQL for high volumes).
BatchHandler = Callable[[list[tuple[Envelope, Message]], UnitOfWork], Awaitable[None]]
H = TypeVar("H")


def applies_snapshots(handler: H) -> H:
    """Marks a projection handler: it also receives snapshot events (re-published state)."""
    setattr(handler, "_cdsp_applies_snapshots", True)  # noqa: B010 - a mark on a function
    return handler


def _takes_snapshots(handler: object) -> bool:
    return bool(getattr(handler, "_cdsp_applies_snapshots", False))


class EventConsumer(PollingThread):
    def __init__(self, db: Database, bootstrap: str, group_id: str, topics: list[str],
                 handlers: dict[str, Handler], *, max_attempts: int = 3,
                 retry_delay_s: float = 0.2, partitions: int = 6, replication: int = 1,
                 batch_handlers: dict[str, BatchHandler] | None = None,
                 retry_poll_s: float = 1.0) -> None:
        super().__init__()
        self.db = db
        self.bootstrap = bootstrap
        self.group_id = group_id
        self.topics = topics
        self.handlers = handlers
        # A batch handler gets runs of consecutive records of its type; a record it cannot take
        # is processed alone by the single handler, which every batch type must have too.
        self.batch_handlers = batch_handlers or {}
        assert set(self.batch_handlers) <= set(handlers)
        self.max_attempts = max_attempts
        self.retry_delay_s = retry_delay_s
        self.partitions = partitions
        self.replication = replication
        self.retries = RetryLoop(self, retry_poll_s)

    def start(self) -> None:
        self.start_polling()
        self.retries.start()

    async def stop(self) -> None:
        self._stop.set()
        await self.retries.stop()
        await self.stop_polling()

    # ------------------------------------------------------------------ a poll

    async def process_many(self, records: list[Any]) -> None:
        """Applies a poll in one transaction, in order; if that fails for a reason other than an
        outage, each record is processed alone (so a poison record is isolated and parked)."""
        decoded: list[tuple[Any, Envelope, Message]] = []
        for record in records:
            parsed = await self._decode(record)
            if parsed is not None:
                decoded.append((record, *parsed))
        if not decoded:
            return
        try:
            await self._handle_poll(decoded)
        except Exception as exc:
            if is_outage(exc):
                raise
            log.warning("consumer %s: a poll of %d failed (%s); processing it one by one",
                        self.group_id, len(decoded), type(exc).__name__)
            for record, _, _ in decoded:
                await self.process(record)

    def _wanted(self, envelope: Envelope) -> bool:
        """Whether a handler takes this event (an event nobody handles needs no inbox row)."""
        handler = self.handlers.get(envelope.event_type)
        return handler is not None and (not envelope.snapshot or _takes_snapshots(handler)
                                        or self._batchable(envelope))

    async def _handle_poll(self, decoded: list[tuple[Any, Envelope, Message]]) -> None:
        wanted = [(r, e, p) for r, e, p in decoded if self._wanted(e)]
        async with self.db.unit_of_work(SYSTEM) as uow:
            rows = await uow.fetchall(
                "INSERT INTO inbox (consumer, event_id, topic, event_type) "
                "SELECT %s, e, t, y FROM unnest(%s::uuid[], %s::text[], %s::text[]) AS u(e, t, y) "
                "ON CONFLICT DO NOTHING RETURNING event_id::text",
                [self.group_id, [e.event_id for _, e, _ in wanted],
                 [r.topic for r, _, _ in wanted], [e.event_type for _, e, _ in wanted]]
            ) if wanted else []
            fresh = {r[0] for r in rows}
            outcomes: list[tuple[str, str, str]] = []
            run: list[tuple[Envelope, Message]] = []  # consecutive records of one batch type
            applied: list[str] = []
            for record, envelope, payload in decoded:
                outcome = "duplicate" if self._wanted(envelope) else "ignored"
                if envelope.event_id in fresh:
                    fresh.discard(envelope.event_id)  # a second copy in the poll is a duplicate
                    if run and run[0][0].event_type != envelope.event_type:
                        await self._flush(run, uow)
                    if self._batchable(envelope):
                        run.append((envelope, payload))
                        outcome = "processed"
                    else:
                        await self._flush(run, uow)
                        outcome = await self._dispatch(uow, record, envelope, payload)
                    if outcome == "processed":
                        applied.append(pending.aggregate_key(envelope))
                outcomes.append((record.topic, envelope.event_type, outcome))
            await self._flush(run, uow)
            await pending.release(uow, applied)
        for labels in outcomes:  # counted once the poll has committed
            EVENTS_CONSUMED.labels(*labels).inc()

    def _batchable(self, envelope: Envelope) -> bool:
        batch = self.batch_handlers.get(envelope.event_type)
        return batch is not None and (not envelope.snapshot or _takes_snapshots(batch))

    async def _flush(self, run: list[tuple[Envelope, Message]], uow: UnitOfWork) -> None:
        if run:
            await self.batch_handlers[run[0][0].event_type](list(run), uow)
            run.clear()

    async def _dispatch(self, uow: UnitOfWork, record: Any, envelope: Envelope,
                        payload: Message) -> str:
        """Runs the event's handler; returns the outcome (processed, ignored, pending)."""
        handler = self.handlers.get(envelope.event_type)
        if handler is None or (envelope.snapshot and not _takes_snapshots(handler)):
            return "ignored"
        try:
            await handler(envelope, payload, uow)
        except pending.WaitFor as wait:  # raised before the handler wrote anything
            await pending.defer(uow, self.group_id, record, envelope, wait.keys)
            return "pending"
        return "processed"

    # ------------------------------------------------------------------ one record

    async def _decode(self, record: Any) -> tuple[Envelope, Message] | None:
        """The record's envelope and payload; an undecodable record is parked (None)."""
        try:
            envelope = Envelope.FromString(record.value)
            payload = unpack_payload(envelope)
            uuid.UUID(envelope.event_id)
        except (DecodeError, KeyError, ValueError, TypeError) as exc:
            await self._park(record, None, f"undecodable: {type(exc).__name__}: {exc}", 1)
            return None
        return envelope, payload

    async def process(self, record: Any) -> str:
        """Handles one record alone; returns the outcome: processed, duplicate, ignored, pending,
        dead_lettered."""
        parsed = await self._decode(record)
        if parsed is None:
            return "dead_lettered"
        envelope, payload = parsed
        last_error: Exception | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                outcome = await self._handle(envelope, payload, record)
                EVENTS_CONSUMED.labels(record.topic, envelope.event_type, outcome).inc()
                return outcome
            except Exception as exc:
                if is_outage(exc):
                    raise  # infrastructure, not the message: the polling thread rewinds
                last_error = exc
                log.warning("handler for %s failed (attempt %d/%d): %s", envelope.event_type,
                            attempt, self.max_attempts, type(exc).__name__)
                await asyncio.sleep(self.retry_delay_s * attempt)
        assert last_error is not None
        await self._park(record, envelope, f"{type(last_error).__name__}: {last_error}",
                         self.max_attempts)
        return "dead_lettered"

    async def _handle(self, envelope: Envelope, payload: Message, record: Any) -> str:
        if not self._wanted(envelope):
            return "ignored"
        async with self.db.unit_of_work(SYSTEM) as uow:
            fresh = await uow.fetchone(
                "INSERT INTO inbox (consumer, event_id, topic, event_type) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT DO NOTHING RETURNING 1",
                [self.group_id, envelope.event_id, record.topic, envelope.event_type])
            if fresh is None:
                return "duplicate"
            outcome = await self._dispatch(uow, record, envelope, payload)
            if outcome == "processed":
                await pending.release(uow, [pending.aggregate_key(envelope)])
            return outcome

    async def _park(self, record: Any, envelope: Envelope | None, error: str,
                    attempts: int) -> None:
        async with self.db.unit_of_work(SYSTEM) as uow:
            await dead_letters.park(uow, self.group_id, record,
                                    envelope.event_id if envelope else None,
                                    envelope.event_type if envelope else None, error, attempts)
        await dead_letters.refresh_gauge(self.db)
        EVENTS_CONSUMED.labels(record.topic, envelope.event_type if envelope else "unknown",
                               "dead_lettered").inc()
        log.error("parked %s offset %d of %s/%d in the dead-letter table",
                  envelope.event_type if envelope else "an undecodable record", record.offset,
                  record.topic, record.partition)

