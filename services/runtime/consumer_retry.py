"""A consumer's second chances: its pending events (runtime.pending) and the dead letters an
operator asked to replay (runtime.dead_letters), tried again in the service's event loop.

One round every `poll_s` (at once again while rounds come back full). Pending events are leased
in a short transaction, then each is handled in its own transaction that deletes its pending row
last. An expired one gets a last attempt with waiting disallowed and a PendingEventExpired event.
A handler that fails on a pending event for a reason other than an outage parks it as a dead
letter, like any event that keeps failing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cdsp.events.v1 import runtime_pb2
from cdsp.events.v1.envelope_pb2 import Envelope
from runtime import dead_letters, pending
from runtime.auth import SYSTEM
from runtime.db import is_outage
from runtime.events import unpack_payload
from runtime.metrics import EVENTS_CONSUMED, PENDING_EVENTS, PENDING_EXPIRED
from runtime.timestamps import to_timestamp

if TYPE_CHECKING:
    from runtime.consumer import EventConsumer

log = logging.getLogger("cdsp.consumer.retry")
ROUND = 50               # pending events (or dead letters) taken per round
GAUGE_EVERY_S = 15.0


@dataclass(frozen=True)
class StoredRecord:
    """A record read back from a table, with the fields the consumer reads of a broker record."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


class RetryLoop:
    def __init__(self, consumer: EventConsumer, poll_s: float) -> None:
        self.consumer = consumer
        self.poll_s = poll_s
        self._task: asyncio.Task[None] | None = None
        self._gauge_at = 0.0
        # At 0 from the start, so the first expiry is an increase an alert sees.
        PENDING_EXPIRED.labels(consumer.group_id)

    @property
    def group(self) -> str:
        return self.consumer.group_id

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"retry-{self.group}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if (self.group,) in _labels():
            PENDING_EVENTS.remove(self.group)

    async def _run(self) -> None:
        while True:
            full = False
            try:
                replayed = await self.replay_dead_letters()
                tried = await self.retry_pending()
                full = ROUND in (replayed, tried)
                await self._refresh_gauge()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consumer %s: retry round failed (%s); next in %.0fs", self.group,
                            type(exc).__name__, self.poll_s)
            await asyncio.sleep(0 if full else self.poll_s)

    async def _refresh_gauge(self) -> None:
        if time.monotonic() - self._gauge_at < GAUGE_EVERY_S:
            return
        self._gauge_at = time.monotonic()
        async with self.consumer.db.unit_of_work(SYSTEM) as uow:
            PENDING_EVENTS.labels(self.group).set(await pending.count(uow, self.group))

    # ------------------------------------------------------------------ pending events

    async def retry_pending(self) -> int:
        """One round over the due pending events; returns how many were tried."""
        async with self.consumer.db.unit_of_work(SYSTEM) as uow:
            rows = await pending.lease_due(uow, self.group, ROUND)
        for row in rows:
            await self._retry(row)
        return len(rows)

    async def _retry(self, row: pending.PendingRow) -> None:
        envelope = Envelope.FromString(row.envelope)
        db = self.consumer.db
        handler = self.consumer.handlers.get(envelope.event_type)
        if handler is None:  # a version of the service that no longer handles this type
            async with db.unit_of_work(SYSTEM) as uow:
                await pending.finish(uow, self.group, row.event_id)
            EVENTS_CONSUMED.labels(row.topic, envelope.event_type, "ignored").inc()
            return
        try:
            payload = unpack_payload(envelope)
        except (KeyError, ValueError) as exc:  # a payload this version cannot read
            await self._give_up(row, envelope, exc)
            return
        try:
            async with db.unit_of_work(SYSTEM) as uow:
                if row.expired:
                    with pending.last_attempt():
                        await handler(envelope, payload, uow)
                    uow.record(_expired(self.group, envelope, row), aggregate_type="pending_event",
                               aggregate_id=row.event_id, version=1,
                               jurisdiction_path=envelope.jurisdiction_path or "/")
                else:
                    await handler(envelope, payload, uow)
                await pending.finish(uow, self.group, row.event_id)
        except pending.WaitFor as wait:
            async with db.unit_of_work(SYSTEM) as uow:
                await pending.keep_waiting(uow, self.group, row, wait.keys)
            return
        except Exception as exc:
            if is_outage(exc):
                raise  # the lease runs out and the event is tried again when the database is back
            await self._give_up(row, envelope, exc)
            return
        outcome = "expired" if row.expired else "resumed"
        if row.expired:
            PENDING_EXPIRED.labels(self.group).inc()
            log.warning("consumer %s: %s waited for %s until it expired; finished without it",
                        self.group, envelope.event_type, ", ".join(row.waiting_for))
        EVENTS_CONSUMED.labels(row.topic, envelope.event_type, outcome).inc()

    async def _give_up(self, row: pending.PendingRow, envelope: Envelope, exc: Exception
                       ) -> None:
        record = StoredRecord(row.topic, row.partition, row.record_offset,
                              row.record_key.encode() if row.record_key else None, row.envelope)
        async with self.consumer.db.unit_of_work(SYSTEM) as uow:
            await dead_letters.park(uow, self.group, record, envelope.event_id,
                                    envelope.event_type, f"{type(exc).__name__}: {exc}",
                                    row.attempts)
            await pending.finish(uow, self.group, row.event_id)
        await dead_letters.refresh_gauge(self.consumer.db)
        EVENTS_CONSUMED.labels(row.topic, envelope.event_type, "dead_lettered").inc()
        log.error("consumer %s: pending %s failed (%s); parked in the dead-letter table",
                  self.group, envelope.event_type, type(exc).__name__)

    # ------------------------------------------------------------------ dead letters

    async def replay_dead_letters(self) -> int:
        """Processes again the parked records an operator asked to replay; returns how many."""
        async with self.consumer.db.unit_of_work(SYSTEM) as uow:
            parked = await dead_letters.replays_requested(uow, self.group, ROUND)
            # The request is taken: a failure below parks the record again with its new error.
            await uow.execute("UPDATE dead_letter SET replay_requested_at = NULL "
                              "WHERE id = ANY(%s)", [[p.id for p in parked]])
        for item in parked:
            record = StoredRecord(item.topic, item.partition, item.offset, item.key, item.value)
            outcome = await self.consumer.process(record)
            if outcome != "dead_lettered":
                async with self.consumer.db.unit_of_work(SYSTEM) as uow:
                    await dead_letters.remove(uow, [item.id])
                log.info("consumer %s: dead letter %d replayed (%s)", self.group, item.id,
                         outcome)
        if parked:
            await dead_letters.refresh_gauge(self.consumer.db)
        return len(parked)


def _expired(group: str, envelope: Envelope, row: pending.PendingRow
             ) -> runtime_pb2.PendingEventExpired:
    return runtime_pb2.PendingEventExpired(
        consumer=group, event_id=envelope.event_id, event_type=envelope.event_type,
        waiting_for=row.waiting_for, first_seen_at=to_timestamp(row.first_seen_at),
        expired_at=to_timestamp(datetime.now(UTC)))


def _labels() -> set[tuple[str, ...]]:
    """The label values PENDING_EVENTS has series for."""
    return {tuple(sample.labels.values()) for metric in PENDING_EVENTS.collect()
            for sample in metric.samples}
