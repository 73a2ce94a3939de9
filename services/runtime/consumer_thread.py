"""The polling side of a consumer: a thread that runs kafka-python (which is not asyncio), hands
each poll to the service's event loop (`process_many`, in runtime.consumer), commits the offsets
once that returns, rewinds every partition of the poll when it raises (a database outage), and
reports each held partition's lag."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from typing import Any

from kafka import TopicPartition
from kafka.errors import (
    CommitFailedError,
    IllegalGenerationError,
    RebalanceInProgressError,
    UnknownMemberIdError,
)

from runtime.kafka_clients import ensure_topics, make_consumer
from runtime.metrics import CONSUMER_LAG

log = logging.getLogger("cdsp.consumer")
MAX_POLL_RECORDS = 1000
COMMIT_TIMEOUT_MS = 30_000
CLOSE_TIMEOUT_MS = 10_000
# The group refused the commit because it is rebalancing: not this consumer's failure.
REBALANCING = (CommitFailedError, RebalanceInProgressError, IllegalGenerationError,
               UnknownMemberIdError)


class PollingThread:
    """What EventConsumer runs on its own thread; subclasses give `process_many`."""

    bootstrap: str
    group_id: str
    topics: list[str]
    partitions: int
    replication: int

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lag_reported: set[tuple[str, int]] = set()

    async def process_many(self, records: list[Any]) -> None:
        raise NotImplementedError

    def start_polling(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name=f"consumer-{self.group_id}",
                                        daemon=True)
        self._thread.start()

    async def stop_polling(self) -> None:
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 30)
        self._forget_lag(self._lag_reported)  # no longer this process's to report
        self._lag_reported = set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                ensure_topics(self.bootstrap, self.topics, self.partitions, self.replication)
                consumer = make_consumer(self.bootstrap, self.group_id,
                                         f"{self.group_id}-{uuid.uuid4().hex[:6]}",
                                         max_poll_records=MAX_POLL_RECORDS)
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
                        self._commit(consumer)
                    self._report_lag(consumer)
            except Exception as exc:
                log.warning("consumer %s failed (%s: %s); reconnecting", self.group_id,
                            type(exc).__name__, exc)
                self._stop.wait(1)
            finally:
                self._leave(consumer)

    def _commit(self, consumer: Any) -> None:
        """Commits the poll's offsets. A commit the group refuses because it is rebalancing (a
        broker restart, a member joining or leaving) is not a failure of this consumer: the
        next poll takes part in the rebalance, and whatever was not committed is delivered
        again to whoever holds the partition (the inbox makes that a no-op). Tearing the
        consumer down here instead left the group waiting for a member that never finished
        joining, and the next consumer of the process got no partitions, for good."""
        try:
            consumer.commit(timeout_ms=COMMIT_TIMEOUT_MS)
        except REBALANCING as exc:
            log.warning("consumer %s: offsets not committed, the group is rebalancing (%s); "
                        "those records will be delivered again", self.group_id,
                        type(exc).__name__)

    def _leave(self, consumer: Any) -> None:
        """Leaves the group cleanly, whatever ended the consumer, within bounded time."""
        try:
            self._finish_joining(consumer)
        except Exception:
            log.debug("consumer %s: finishing the join failed", self.group_id, exc_info=True)
        try:
            consumer.close(autocommit=False, timeout_ms=CLOSE_TIMEOUT_MS)
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
        """Processes a poll; on a database outage rewinds every partition to its first record."""
        assert self._loop is not None
        partitions = list(batch.items())
        records = [r for _, rs in partitions for r in rs]  # offset order within each partition
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

    def _report_lag(self, consumer: Any) -> None:
        """Lag of the partitions this process holds; the series of a partition it no longer
        holds (revoked in a rebalance) is removed, so its new owner alone reports it."""
        reported: set[tuple[str, int]] = set()
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is None:
                continue
            position = consumer.position(tp)
            if position is not None and position > high:
                self._log_shrank(consumer, tp, position, high)
                continue
            CONSUMER_LAG.labels(self.group_id, tp.topic, str(tp.partition)).set(
                max(0, high - position))
            reported.add((tp.topic, tp.partition))
        self._forget_lag(self._lag_reported - reported)
        self._lag_reported = reported

    def _log_shrank(self, consumer: Any, tp: TopicPartition, position: int, high: int) -> None:
        """The partition ends before this consumer's position: its log was recreated or
        truncated (a broker that lost its data, a topic deleted and created again). Kafka
        answers such a fetch "offset out of range" and the client starts again by its reset
        policy; a broker that answers with nothing instead would leave the consumer waiting
        for offsets that may never come. Start again from the beginning, as the reset policy
        (earliest) would: records seen before are no-ops (the inbox), none is skipped."""
        log.warning("consumer %s: %s/%d ends at %d, before our position %d (its log was "
                    "recreated or truncated); reading it again from the beginning",
                    self.group_id, tp.topic, tp.partition, high, position)
        consumer.seek_to_beginning(tp)

    def _forget_lag(self, partitions: set[tuple[str, int]]) -> None:
        for topic, partition in partitions:
            CONSUMER_LAG.remove(self.group_id, topic, str(partition))
