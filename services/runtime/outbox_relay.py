"""Publishes the outbox to Kafka: at least once, in commit order per aggregate.

Woken by NOTIFY when a unit of work commits events, with a fallback poll (notifications sent while
the relay was not listening are lost). One relay per database publishes at a time (an advisory
lock), so several replicas never reorder events. While the broker is down, rounds fail and back
off exponentially with jitter; the events stay in the table until the broker acknowledges them.
A record the broker refuses for good (too large, invalid: REJECTED_FOR_GOOD) is parked instead
(`parked_at`, with the error, cdsp_outbox_parked_events): retrying it would hold back every later
event for ever. `python -m runtime.dead_letters outbox-retry ID` puts it back in line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
from datetime import UTC, datetime
from typing import Any

from kafka import errors as kafka_errors
from psycopg import AsyncConnection

from runtime.db import OUTBOX_CHANNEL, Database
from runtime.kafka_clients import ensure_topics, make_producer
from runtime.listen import listen_forever
from runtime.metrics import (
    EVENT_PUBLISH_DELAY,
    EVENTS_PUBLISHED,
    OUTBOX_BACKLOG,
    OUTBOX_OLDEST_AGE,
    OUTBOX_PARKED,
    OUTBOX_PUBLISH_FAILURES,
)

log = logging.getLogger("cdsp.outbox")
RELAY_LOCK_KEY = 0x0CD5_0002
RETENTION = "7 days"
# After a wake-up, let more commits join the batch: fewer relay rounds under load, for at most
# this much more latency.
LINGER_S = float(os.environ.get("CDSP_OUTBOX_LINGER_MS", "5")) / 1000
BACKLOG_EVERY_S = 5.0    # how often the backlog gauges are refreshed
# Errors about one record that sending it again cannot cure (the topic and the cluster are fine).
REJECTED_FOR_GOOD = (kafka_errors.MessageSizeTooLargeError, kafka_errors.RecordListTooLargeError,
                     kafka_errors.CorruptRecordError, kafka_errors.InvalidRecordError,
                     kafka_errors.InvalidTimestampError)


class OutboxRelay:
    def __init__(self, db: Database, url: str, bootstrap: str, *, partitions: int = 6,
                 replication: int = 1, poll_s: float = 1.0, batch: int = 500) -> None:
        self.db = db
        self.url = url
        self.bootstrap = bootstrap
        self.partitions = partitions
        self.replication = replication
        self.poll_s = poll_s
        self.batch = batch
        self.producer: Any = None
        self.wake = asyncio.Event()
        self.stopping = False
        self.failures = 0
        self._topics_ready: set[str] = set()
        self._last_cleanup = 0.0
        self._last_backlog = 0.0

    # ------------------------------------------------------------------ loop

    async def run(self) -> None:
        listener = asyncio.create_task(
            listen_forever(self.url, OUTBOX_CHANNEL, lambda _: self.wake.set()))
        try:
            while not self.stopping:
                try:
                    sent = await self.publish_pending()
                    self.failures = 0
                except Exception as exc:  # broker or database down: back off and retry
                    self.failures += 1
                    OUTBOX_PUBLISH_FAILURES.inc()
                    delay = min(30.0, 0.25 * 2 ** min(self.failures, 8)) * random.uniform(0.5, 1)
                    log.warning("outbox publish failed (%s: %s); retry in %.1fs",
                                type(exc).__name__, exc, delay)
                    await self._close_producer()
                    await self._sleep(delay)
                    continue
                if sent < self.batch:
                    await self._sleep(self.poll_s)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wake.wait(), seconds)
            await asyncio.sleep(LINGER_S)
        self.wake.clear()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="outbox-relay")

    async def stop(self, drain_timeout: float = 5.0) -> None:
        """Lets the current round finish, publishes what is still pending (for up to
        drain_timeout), then closes the producer."""
        deadline = time.monotonic() + drain_timeout
        self.stopping = True
        self.wake.set()
        task = getattr(self, "_task", None)
        if task is not None:
            try:
                await asyncio.wait_for(task, drain_timeout)
            except TimeoutError:
                log.warning("outbox relay round did not finish in %.0fs", drain_timeout)
        while time.monotonic() < deadline:
            try:
                if await self.publish_pending() == 0:
                    break
            except Exception as exc:
                log.warning("outbox not drained at shutdown (%s); it stays for the next start",
                            type(exc).__name__)
                break
        await self._close_producer()

    # ------------------------------------------------------------------ one round

    async def publish_pending(self) -> int:
        """Publishes one batch; returns how many events the broker acknowledged."""
        async with self.db.pool.connection() as conn:
            got = await (await conn.execute("SELECT pg_try_advisory_xact_lock(%s)",
                                            [RELAY_LOCK_KEY])).fetchone()
            if not got or not got[0]:
                await conn.rollback()
                return 0  # another replica's relay is publishing
            rows = await (await conn.execute(
                "SELECT id, topic, record_key, event_type, envelope, created_at FROM outbox "
                "WHERE published_at IS NULL AND parked_at IS NULL ORDER BY id LIMIT %s",
                [self.batch])).fetchall()
            sent: list[int] = []
            parked: list[tuple[int, Exception]] = []
            error: Exception | None = None
            if rows:
                sent, parked, error = await asyncio.to_thread(self._send, rows)
                if sent:
                    await conn.execute("UPDATE outbox SET published_at = now() "
                                       "WHERE id = ANY(%s)", [sent])
                for event_id, why in parked:
                    await conn.execute("UPDATE outbox SET parked_at = now(), "
                                       "attempts = attempts + 1, last_error = %s WHERE id = %s",
                                       [_describe(why), event_id])
                done = set(sent) | {event_id for event_id, _ in parked}
                first_left = next((r[0] for r in rows if r[0] not in done), None)
                if error is not None and first_left is not None:  # what held the round up
                    await conn.execute("UPDATE outbox SET attempts = attempts + 1, "
                                       "last_error = %s WHERE id = %s",
                                       [_describe(error), first_left])
            await conn.commit()
            for event_id, why in parked:
                log.error("outbox event %d parked: the broker refuses it for good (%s)",
                          event_id, type(why).__name__)
            now = datetime.now(UTC)
            by_id = {r[0]: r for r in rows}
            for event_id in sent:
                row = by_id[event_id]
                EVENTS_PUBLISHED.labels(row[1], row[3]).inc()
                EVENT_PUBLISH_DELAY.observe(max(0.0, (now - row[5]).total_seconds()))
            await self._update_backlog(conn)
            await self._cleanup(conn)
        if error is not None:
            raise error
        return len(sent)

    def _send(self, rows: list[Any]
              ) -> tuple[list[int], list[tuple[int, Exception]], Exception | None]:
        """In a worker thread: sends the batch and waits for the broker's acknowledgements.
        Returns what was acknowledged, what the broker refuses for good (to park), and the error
        that stopped the round (the rest is tried again)."""
        futures = []
        parked: list[tuple[int, Exception]] = []
        error: Exception | None = None
        try:
            if self.producer is None:
                self.producer = make_producer(self.bootstrap, f"cdsp-{self.db.service}-relay")
            topics = {r[1] for r in rows} - self._topics_ready
            if topics:
                ensure_topics(self.bootstrap, sorted(topics), self.partitions, self.replication)
                self._topics_ready |= topics
            for event_id, topic, key, event_type, envelope, _ in rows:
                try:
                    futures.append((event_id, self.producer.send(
                        topic, key=key.encode(), value=bytes(envelope),
                        headers=[("event_type", event_type.encode())])))
                except REJECTED_FOR_GOOD as exc:   # refused before it left (too large)
                    parked.append((event_id, exc))
        except Exception as exc:  # no broker, metadata timeout, ...
            error = exc
        if futures:
            try:
                self.producer.flush(timeout=15)
            except Exception as exc:
                error = error or exc
        sent: list[int] = []
        for event_id, future in futures:
            if future.succeeded():
                sent.append(event_id)
            elif future.failed() and isinstance(future.exception, REJECTED_FOR_GOOD):
                parked.append((event_id, future.exception))
            elif error is None:
                error = future.exception if future.failed() else TimeoutError("not acknowledged")
        if error is not None:
            self._topics_ready.clear()  # the broker may have lost its topics (restarted)
        return sent, parked, error

    async def _close_producer(self) -> None:
        producer, self.producer = self.producer, None
        if producer is not None:
            await asyncio.to_thread(producer.close, 5)

    async def _update_backlog(self, conn: AsyncConnection[Any]) -> None:
        if time.monotonic() - self._last_backlog < BACKLOG_EVERY_S and self.failures == 0:
            return
        self._last_backlog = time.monotonic()
        row = await (await conn.execute(
            "SELECT count(*) FILTER (WHERE parked_at IS NULL), "
            "extract(epoch FROM now() - min(created_at) FILTER (WHERE parked_at IS NULL)), "
            "count(*) FILTER (WHERE parked_at IS NOT NULL) FROM outbox "
            "WHERE published_at IS NULL")).fetchone()
        await conn.commit()
        if row:
            OUTBOX_BACKLOG.set(row[0])
            OUTBOX_OLDEST_AGE.set(float(row[1] or 0))
            OUTBOX_PARKED.set(row[2])

    async def _cleanup(self, conn: AsyncConnection[Any]) -> None:
        if time.monotonic() - self._last_cleanup < 600:
            return
        self._last_cleanup = time.monotonic()
        await conn.execute("DELETE FROM outbox WHERE published_at < now() - %s::interval",
                           [RETENTION])
        await conn.commit()


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:500]
