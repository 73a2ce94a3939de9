"""Reading events back from the real broker in tests."""

from __future__ import annotations

import time
from collections.abc import Callable

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

import cdsp.events.v1.registry_pb2  # noqa: F401  (registers the payload types)
from cdsp.events.v1.envelope_pb2 import Envelope


class TopicReader:
    """Reads a topic from the beginning, every partition, without a consumer group."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                      auto_offset_reset="earliest", consumer_timeout_ms=200)
        self.records: list[tuple[bytes, bytes]] = []
        self._assigned = False

    def _assign(self) -> bool:
        partitions = self.consumer.partitions_for_topic(self.topic)
        if not partitions:
            return False
        tps = [TopicPartition(self.topic, p) for p in partitions]
        self.consumer.assign(tps)
        self.consumer.seek_to_beginning(*tps)
        self._assigned = True
        return True

    def poll(self) -> None:
        if not self._assigned and not self._assign():
            return
        for batch in self.consumer.poll(timeout_ms=200).values():
            self.records += [(r.key, r.value) for r in batch]

    def envelopes(self, key: str | None = None) -> list[Envelope]:
        return [Envelope.FromString(v) for k, v in self.records
                if key is None or k == key.encode()]

    def wait_for(self, done: Callable[[list[Envelope]], bool], key: str | None = None,
                 timeout: float = 30.0) -> list[Envelope]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll()
            found = self.envelopes(key)
            if done(found):
                return found
        raise AssertionError(f"events on {self.topic} not as expected after {timeout}s: "
                             f"{[e.event_type for e in self.envelopes(key)]}")

    def close(self) -> None:
        self.consumer.close()


def read_key(bootstrap: str, topic: str, key: str, count: int) -> list[Envelope]:
    """The key's envelopes on `topic` once at least `count` of them are there."""
    reader = TopicReader(bootstrap, topic)
    try:
        return reader.wait_for(lambda found: len(found) >= count, key=key)
    finally:
        reader.close()


def wait_group_past(bootstrap: str, group: str, topic: str, timeout: float = 30.0) -> None:
    """Waits until the consumer group has committed every partition of `topic` up to the end
    it has now: the group took in (handled, or skipped as nobody's) every record there is."""
    reader = TopicReader(bootstrap, topic)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        reader.poll()
        ends = reader.consumer.end_offsets(reader.consumer.assignment())
        deadline = time.monotonic() + timeout
        behind: dict[int, int] = {}
        while time.monotonic() < deadline:
            committed = admin.list_group_offsets({group: list(ends)})[group]
            behind = {tp.partition: end - (committed[tp].offset if tp in committed else 0)
                      for tp, end in ends.items() if end > 0}
            if not any(n > 0 for n in behind.values()):
                return
            time.sleep(0.1)
        raise AssertionError(f"group {group} behind on {topic} after {timeout}s: {behind}")
    finally:
        admin.close()
        reader.close()
