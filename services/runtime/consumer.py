"""The event consumer base: consumer groups, inbox deduplication, dead letters.

A thread polls Kafka (kafka-python is not asyncio) and hands each record to the service's event
loop, where the handler runs inside a unit of work together with the inbox row that marks the event
as processed. Offsets are committed only after that transaction commits, so a crash re-delivers
and the inbox turns the re-delivery into a no-op. A record whose handler keeps failing is parked
in the dead-letter table with its error, and the partition moves on. If the database itself is
unreachable nothing is parked: the consumer rewinds and retries until it is back.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from google.protobuf.message import DecodeError, Message
from kafka import TopicPartition

from cdsp.events.v1.envelope_pb2 import Envelope
from runtime.auth import SYSTEM
from runtime.db import Database, UnitOfWork
from runtime.events import unpack_payload
from runtime.kafka_clients import ensure_topics, make_consumer
from runtime.metrics import CONSUMER_LAG, DEAD_LETTERS, EVENTS_CONSUMED

log = logging.getLogger("cdsp.consumer")
Handler = Callable[[Envelope, Message, UnitOfWork], Awaitable[None]]
# Handles many events of one type in one transaction (set-based SQL for high volumes).
BatchHandler = Callable[[list[tuple[Envelope, Message]], UnitOfWork], Awaitable[None]]


class EventConsumer:
    def __init__(self, db: Database, bootstrap: str, group_id: str, topics: list[str],
                 handlers: dict[str, Handler], *, max_attempts: int = 3,
                 retry_delay_s: float = 0.2, partitions: int = 6, replication: int = 1,
                 batch_handlers: dict[str, BatchHandler] | None = None) -> None:
        self.db = db
        self.bootstrap = bootstrap
        self.group_id = group_id
        self.topics = topics
        self.handlers = handlers
        # With batch handlers, each poll is processed in one transaction; if that fails, its
        # records are processed one by one, so a poison message is still isolated and parked.
        # Every event type with a batch handler needs a single handler too, for that fallback.
        self.batch_handlers = batch_handlers or {}
        assert set(self.batch_handlers) <= set(handlers)
        self.max_attempts = max_attempts
        self.retry_delay_s = retry_delay_s
        self.partitions = partitions
        self.replication = replication
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lag_reported: set[tuple[str, int]] = set()

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name=f"consumer-{self.group_id}",
                                        daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 30)
        self._forget_lag(self._lag_reported)  # no longer this process's to report
        self._lag_reported = set()

    # ------------------------------------------------------------------ the polling thread

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                ensure_topics(self.bootstrap, self.topics, self.partitions, self.replication)
                consumer = make_consumer(self.bootstrap, self.group_id,
                                         f"{self.group_id}-{uuid.uuid4().hex[:6]}",
                                         max_poll_records=1000 if self.batch_handlers else 200)
            except Exception as exc:
                log.warning("consumer %s cannot reach the broker (%s); retrying", self.group_id,
                            type(exc).__name__)
                self._stop.wait(2)
                continue
            try:
                consumer.subscribe(self.topics)
                while not self._stop.is_set():
                    batch = consumer.poll(timeout_ms=500)
                    if batch and self._process_batch(consumer, batch):
                        consumer.commit()
                    self._report_lag(consumer)
                self._finish_joining(consumer)
            except Exception as exc:
                log.warning("consumer %s failed (%s: %s); reconnecting", self.group_id,
                            type(exc).__name__, exc)
                self._stop.wait(1)
            finally:
                try:
                    consumer.close(autocommit=False)
                except Exception:
                    log.debug("consumer close failed", exc_info=True)

    @staticmethod
    def _finish_joining(consumer: Any, timeout_s: float = 15.0) -> None:
        """Stopping while the group join is still in progress can leave the group waiting for a
        member that never completes it (seen with Tansu: the next process then gets no
        partitions). Let the join finish, without processing anything, so close() leaves the
        group cleanly. Records fetched meanwhile are not committed: they are delivered again."""
        deadline = time.monotonic() + timeout_s
        while not consumer.assignment() and time.monotonic() < deadline:
            consumer.poll(timeout_ms=200, max_records=1)

    def _process_batch(self, consumer: Any, batch: dict[TopicPartition, list[Any]]) -> bool:
        """Processes every record; on a database outage rewinds to the first unprocessed one."""
        assert self._loop is not None
        partitions = list(batch.items())
        if self.batch_handlers:
            records = [r for _, rs in partitions for r in rs]
            try:
                asyncio.run_coroutine_threadsafe(self.process_many(records), self._loop).result()
            except Exception as exc:
                log.warning("consumer %s: database unavailable (%s); will retry",
                            self.group_id, type(exc).__name__)
                for tp, rs in partitions:
                    consumer.seek(tp, rs[0].offset)
                self._stop.wait(2)
                return False
            return True
        for index, (tp, records) in enumerate(partitions):
            for record in records:
                future = asyncio.run_coroutine_threadsafe(self.process(record), self._loop)
                try:
                    future.result()
                except Exception as exc:
                    log.warning("consumer %s: database unavailable (%s); will retry",
                                self.group_id, type(exc).__name__)
                    consumer.seek(tp, record.offset)
                    for later, later_records in partitions[index + 1:]:
                        consumer.seek(later, later_records[0].offset)
                    consumer.commit()  # what was processed stays processed
                    self._stop.wait(2)
                    return False
        return True

    def _report_lag(self, consumer: Any) -> None:
        """Lag of the partitions this process holds; the series of a partition it no longer
        holds (revoked in a rebalance) is removed, so its new owner alone reports it."""
        reported: set[tuple[str, int]] = set()
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is None:
                continue
            position = consumer.position(tp)
            CONSUMER_LAG.labels(self.group_id, tp.topic, str(tp.partition)).set(
                max(0, high - position))
            reported.add((tp.topic, tp.partition))
        self._forget_lag(self._lag_reported - reported)
        self._lag_reported = reported

    def _forget_lag(self, partitions: set[tuple[str, int]]) -> None:
        for topic, partition in partitions:
            CONSUMER_LAG.remove(self.group_id, topic, str(partition))

    # ------------------------------------------------------------------ a batch

    async def process_many(self, records: list[Any]) -> None:
        decoded: list[tuple[Any, Envelope, Message]] = []
        for record in records:
            parsed = await self._decode(record)
            if parsed is not None:
                decoded.append((record, *parsed))
        if not decoded:
            return
        try:
            await self._handle_many(decoded)
        except psycopg.OperationalError:
            raise
        except Exception as exc:
            log.warning("consumer %s: a batch of %d failed (%s); processing it one by one",
                        self.group_id, len(decoded), type(exc).__name__)
            for record, _, _ in decoded:
                await self.process(record)

    async def _handle_many(self, decoded: list[tuple[Any, Envelope, Message]]) -> None:
        async with self.db.unit_of_work(SYSTEM) as uow:
            rows = await uow.fetchall(
                "INSERT INTO inbox (consumer, event_id, topic, event_type) "
                "SELECT %s, e, t, y FROM unnest(%s::uuid[], %s::text[], %s::text[]) AS u(e, t, y) "
                "ON CONFLICT DO NOTHING RETURNING event_id::text",
                [self.group_id, [e.event_id for _, e, _ in decoded],
                 [r.topic for r, _, _ in decoded], [e.event_type for _, e, _ in decoded]])
            fresh = {r[0] for r in rows}
            outcomes: list[tuple[str, str, str]] = []
            by_type: dict[str, list[tuple[Envelope, Message]]] = {}
            for record, envelope, payload in decoded:
                outcome = "duplicate"
                if envelope.event_id in fresh:
                    fresh.discard(envelope.event_id)  # a second copy in the batch is a duplicate
                    if envelope.event_type in self.handlers:
                        by_type.setdefault(envelope.event_type, []).append((envelope, payload))
                        outcome = "processed"
                    else:
                        outcome = "ignored"
                outcomes.append((record.topic, envelope.event_type, outcome))
            for event_type, items in by_type.items():
                batch_handler = self.batch_handlers.get(event_type)
                if batch_handler is not None:
                    await batch_handler(items, uow)
                else:
                    for envelope, payload in items:
                        await self.handlers[event_type](envelope, payload, uow)
        for labels in outcomes:  # counted once the batch has committed
            EVENTS_CONSUMED.labels(*labels).inc()

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
        """Handles one record; returns the outcome: processed, duplicate, ignored, dead_lettered."""
        parsed = await self._decode(record)
        if parsed is None:
            return "dead_lettered"
        envelope, payload = parsed
        handler = self.handlers.get(envelope.event_type)
        last_error: Exception | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                outcome = await self._handle(envelope, payload, handler, record)
                EVENTS_CONSUMED.labels(record.topic, envelope.event_type, outcome).inc()
                return outcome
            except psycopg.OperationalError:
                raise  # infrastructure, not the message: the polling thread rewinds
            except Exception as exc:
                last_error = exc
                log.warning("handler for %s failed (attempt %d/%d): %s", envelope.event_type,
                            attempt, self.max_attempts, type(exc).__name__)
                await asyncio.sleep(self.retry_delay_s * attempt)
        assert last_error is not None
        await self._park(record, envelope, f"{type(last_error).__name__}: {last_error}",
                         self.max_attempts)
        return "dead_lettered"

    async def _handle(self, envelope: Envelope, payload: Message, handler: Handler | None,
                      record: Any) -> str:
        async with self.db.unit_of_work(SYSTEM) as uow:
            fresh = await uow.fetchone(
                "INSERT INTO inbox (consumer, event_id, topic, event_type) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT DO NOTHING RETURNING 1",
                [self.group_id, envelope.event_id, record.topic, envelope.event_type])
            if fresh is None:
                return "duplicate"
            if handler is None:
                return "ignored"
            await handler(envelope, payload, uow)
            return "processed"

    async def _park(self, record: Any, envelope: Envelope | None, error: str,
                    attempts: int) -> None:
        from runtime.logs import mask_personal_data

        async with self.db.unit_of_work(SYSTEM) as uow:
            await uow.execute(
                "INSERT INTO dead_letter (consumer, topic, partition, record_offset, record_key, "
                "event_id, event_type, payload, error, attempts) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                [self.group_id, record.topic, record.partition, record.offset,
                 record.key.decode(errors="replace") if record.key else None,
                 envelope.event_id if envelope else None,
                 envelope.event_type if envelope else None, record.value,
                 mask_personal_data(error)[:2000], attempts])
            count = await uow.fetchone("SELECT count(*) FROM dead_letter")
        DEAD_LETTERS.set(count[0] if count else 0)
        EVENTS_CONSUMED.labels(record.topic, envelope.event_type if envelope else "unknown",
                               "dead_lettered").inc()
        log.error("parked %s offset %d of %s/%d in the dead-letter table",
                  envelope.event_type if envelope else "an undecodable record", record.offset,
                  record.topic, record.partition)


async def refresh_dead_letter_gauge(db: Database) -> int:
    """Sets cdsp_dead_letter_events to the rows in this service's dead_letter table: every
    replica runs it on a timer (runtime.server), so the figure survives a restart and falls when
    an operator replays or removes parked events."""
    async with db.unit_of_work(SYSTEM) as uow:
        row = await uow.fetchone("SELECT count(*) FROM dead_letter")
    count = int(row[0]) if row else 0
    DEAD_LETTERS.set(count)
    return count
