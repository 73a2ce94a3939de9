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


class EventConsumer:
    def __init__(self, db: Database, bootstrap: str, group_id: str, topics: list[str],
                 handlers: dict[str, Handler], *, max_attempts: int = 3,
                 retry_delay_s: float = 0.2, partitions: int = 6, replication: int = 1) -> None:
        self.db = db
        self.bootstrap = bootstrap
        self.group_id = group_id
        self.topics = topics
        self.handlers = handlers
        self.max_attempts = max_attempts
        self.retry_delay_s = retry_delay_s
        self.partitions = partitions
        self.replication = replication
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name=f"consumer-{self.group_id}",
                                        daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 30)

    # ------------------------------------------------------------------ the polling thread

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                ensure_topics(self.bootstrap, self.topics, self.partitions, self.replication)
                consumer = make_consumer(self.bootstrap, self.group_id,
                                         f"{self.group_id}-{uuid.uuid4().hex[:6]}")
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
            except Exception as exc:
                log.warning("consumer %s failed (%s: %s); reconnecting", self.group_id,
                            type(exc).__name__, exc)
                self._stop.wait(1)
            finally:
                try:
                    consumer.close(autocommit=False)
                except Exception:
                    log.debug("consumer close failed", exc_info=True)

    def _process_batch(self, consumer: Any, batch: dict[TopicPartition, list[Any]]) -> bool:
        """Processes every record; on a database outage rewinds to the first unprocessed one."""
        assert self._loop is not None
        partitions = list(batch.items())
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
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is None:
                continue
            position = consumer.position(tp)
            CONSUMER_LAG.labels(self.group_id, tp.topic, str(tp.partition)).set(
                max(0, high - position))

    # ------------------------------------------------------------------ one record

    async def process(self, record: Any) -> str:
        """Handles one record; returns the outcome: processed, duplicate, ignored, dead_lettered."""
        try:
            envelope = Envelope.FromString(record.value)
            payload = unpack_payload(envelope)
            uuid.UUID(envelope.event_id)
        except (DecodeError, KeyError, ValueError, TypeError) as exc:
            await self._park(record, None, f"undecodable: {type(exc).__name__}: {exc}", 1)
            return "dead_lettered"
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

