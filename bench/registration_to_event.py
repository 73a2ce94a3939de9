"""Time from a registration to its event on the broker (p50/p99), next to the ceiling: the
broker's own produce → consume latency with kafka-python directly.

    PYTHONPATH=services:scripts .venv/bin/python bench/registration_to_event.py [--count 300]

A kafka-python consumer (the platform's consumer settings, runtime.kafka_clients.make_consumer;
not asyncio, so in a thread) is assigned every partition of cdsp.registry.v1, seeks to the end,
and notes when each record arrives. Meanwhile RegisterPerson is called `count` times, paced at
`rate` per second; each Envelope is matched by its aggregate_id to the person_id the call
returned. The latency is measured from the moment the call was sent (so it includes the call
itself, the commit, the outbox relay's round and the broker); the same figure from the moment
the reply arrived is printed too. The ceiling sends records of the same size with the platform's
producer settings (send + flush, as the relay does) to a topic of its own, and the same consumer
set-up measures send → arrival.
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
from common import (
    AREA_EVENT,
    REGISTRY,
    TOPIC,
    Figure,
    ResidentIds,
    ensure_small_tree,
    ms,
    percentile,
    person_message,
    print_figures,
    print_table,
    running_stack,
    superuser_url,
    token,
    wait_for_quiet,
)
from kafka import KafkaConsumer, TopicPartition

import devstack
from cdsp.events.v1.envelope_pb2 import Envelope
from cdsp.registry.v1 import registry_pb2 as pb
from cdsp.registry.v1 import registry_pb2_grpc
from runtime.grpc_client import aio_channel
from runtime.kafka_clients import ensure_topics, make_consumer, make_producer

TARGET_P99_MS = 250.0
CEILING_TOPIC = "cdsp.bench.latency.v1"
# The diagnostic second consumer: the broker may park a fetch only this long (the platform's
# consumers use kafka-python's default, 500 ms).
SHORT_FETCH_WAIT_MS = 10
PARTITIONS = 6  # what the relay creates topics with (CDSP_TOPIC_PARTITIONS default)


class Arrivals(threading.Thread):
    """Polls every partition of a topic from its end and notes when each key first arrives."""

    def __init__(self, bootstrap: str, topic: str, key_of: Callable[[Any], str],
                 fetch_max_wait_ms: int | None = None) -> None:
        super().__init__(name=f"arrivals-{topic}", daemon=True)
        self.bootstrap = bootstrap
        self.topic = topic
        self.key_of = key_of
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.arrived: dict[str, float] = {}
        self.records = 0
        self.bytes = 0
        self.ready = threading.Event()
        self.done = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            if self.fetch_max_wait_ms is None:  # the platform's consumer settings
                consumer = make_consumer(self.bootstrap, None,  # type: ignore[arg-type]
                                         f"bench-{self.topic}")
            else:  # diagnostic: the same, but the broker may hold a fetch only this long
                consumer = KafkaConsumer(bootstrap_servers=self.bootstrap.split(","),
                                         client_id=f"bench-{self.topic}-short", group_id=None,
                                         enable_auto_commit=False, max_poll_records=200,
                                         fetch_max_wait_ms=self.fetch_max_wait_ms)
            try:
                deadline = time.monotonic() + 30
                partitions = None
                while not partitions and time.monotonic() < deadline:
                    partitions = consumer.partitions_for_topic(self.topic)
                    if not partitions:
                        time.sleep(0.2)
                if not partitions:
                    raise TimeoutError(f"topic {self.topic} has no partitions")
                tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
                consumer.assign(tps)
                consumer.seek_to_end()
                for tp in tps:  # resolve the end offsets now, before anything is sent
                    consumer.position(tp)
                self.ready.set()
                while not self.done.is_set():
                    batch = consumer.poll(timeout_ms=100)
                    now = time.perf_counter()
                    for records in batch.values():
                        for record in records:
                            self.records += 1
                            self.bytes += len(record.value or b"")
                            self.arrived.setdefault(self.key_of(record), now)
            finally:
                consumer.close()
        except BaseException as exc:
            self.error = exc
            self.ready.set()

    def start_and_wait(self) -> None:
        self.start()
        if not self.ready.wait(60) or self.error is not None:
            raise RuntimeError(f"consumer not ready: {self.error!r}")

    def wait_for(self, keys: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not all(k in self.arrived for k in keys):
            time.sleep(0.05)
        self.done.set()
        self.join(10)


def envelope_key(record: Any) -> str:
    env = Envelope()
    env.ParseFromString(record.value)
    return env.aggregate_id


def record_key(record: Any) -> str:
    return bytes(record.key).decode()


def latencies(sent: dict[str, float], arrived: dict[str, float]) -> list[float]:
    return [arrived[k] - t for k, t in sent.items() if k in arrived]


# ---------------------------------------------------------------- through the platform

async def platform(stack: devstack.Stack, count: int, rate: float
                   ) -> tuple[dict[str, float], dict[str, float], list[Arrivals], list[str]]:
    addr = stack.grpc_addr(REGISTRY)
    community, households = await ensure_small_tree(addr, 16)
    ids = ResidentIds(AREA_EVENT)
    # The relay creates the topic on its first event; create it now so the consumer can assign.
    ensure_topics(stack.kafka_bootstrap, [TOPIC], PARTITIONS, 1)
    watchers = [Arrivals(stack.kafka_bootstrap, TOPIC, envelope_key),
                Arrivals(stack.kafka_bootstrap, TOPIC, envelope_key, SHORT_FETCH_WAIT_MS)]
    for w in watchers:
        await asyncio.to_thread(w.start_and_wait)
    sent: dict[str, float] = {}
    replied: dict[str, float] = {}
    errors: list[str] = []
    async with aio_channel(addr, token("community_worker", [community])) as channel:
        stub = registry_pb2_grpc.RegistryServiceStub(channel)
        for i in range(20):  # warm the service's pool and prepared statements
            await stub.RegisterPerson(pb.RegisterPersonRequest(
                person=person_message(next(ids), households[i % len(households)], i)))
        requests = [pb.RegisterPersonRequest(person=person_message(
            next(ids), households[i % len(households)], i)) for i in range(count)]

        async def register(request: pb.RegisterPersonRequest) -> None:
            t0 = time.perf_counter()
            try:
                person = await stub.RegisterPerson(request, timeout=30)
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
                return
            replied[person.person_id] = time.perf_counter()
            sent[person.person_id] = t0

        start = time.perf_counter()
        tasks = []
        for i, request in enumerate(requests):
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(register(request)))
        await asyncio.gather(*tasks)
    for w in watchers:
        await asyncio.to_thread(w.wait_for, list(sent), 15.0)
    return sent, replied, watchers, errors


async def outbox_split(url: str, person_ids: list[str]) -> list[float]:
    """Seconds from each event's outbox insert to the start of the relay round that published it
    (published_at is now() of the relay's transaction)."""
    async with await psycopg.AsyncConnection.connect(url) as conn:
        rows = await (await conn.execute(
            "SELECT extract(epoch FROM published_at - created_at) FROM outbox "
            "WHERE record_key = ANY(%s) AND published_at IS NOT NULL", [person_ids])).fetchall()
    return [float(r[0]) for r in rows]


# ---------------------------------------------------------------- the broker alone

def broker_alone(bootstrap: str, count: int, rate: float, size: int
                 ) -> tuple[dict[str, float], list[Arrivals]]:
    ensure_topics(bootstrap, [CEILING_TOPIC], PARTITIONS, 1)
    watchers = [Arrivals(bootstrap, CEILING_TOPIC, record_key),
                Arrivals(bootstrap, CEILING_TOPIC, record_key, SHORT_FETCH_WAIT_MS)]
    for w in watchers:
        w.start_and_wait()
    producer = make_producer(bootstrap, "bench-ceiling")
    payload = b"x" * size
    sent: dict[str, float] = {}
    try:
        for i in range(20):  # warm-up: connections and metadata
            producer.send(CEILING_TOPIC, key=f"warm-{i}".encode(), value=payload)
        producer.flush(10)
        start = time.perf_counter()
        for i in range(count):
            time.sleep(max(0.0, start + i / rate - time.perf_counter()))
            key = f"k-{i}"
            sent[key] = time.perf_counter()
            producer.send(CEILING_TOPIC, key=key.encode(), value=payload,
                          headers=[("event_type", b"bench")])
            producer.flush(10)
    finally:
        producer.close(5)
    for w in watchers:
        w.wait_for(list(sent), 15.0)
    return sent, watchers


# ---------------------------------------------------------------- the bench

def bench(stack: devstack.Stack, count: int, rate: float) -> list[Figure]:
    wait_for_quiet(stack)
    print(f"registering {count} persons at {rate:.0f}/s while consumers watch {TOPIC}",
          flush=True)
    sent, replied, watchers, errors = asyncio.run(platform(stack, count, rate))
    platform_default, platform_short = watchers
    from_send = latencies(sent, platform_default.arrived)
    missing = len(sent) - len(from_send)
    split = asyncio.run(outbox_split(superuser_url(stack), list(sent)))
    # Records of the same size as the registry's envelopes.
    size = platform_default.bytes // max(platform_default.records, 1) or 600
    print(f"measuring the broker alone: {count} records of {size} bytes at {rate:.0f}/s",
          flush=True)
    c_sent, (broker_default, broker_short) = broker_alone(stack.kafka_bootstrap, count, rate,
                                                          size)
    ceiling = latencies(c_sent, broker_default.arrived)

    def pcts(values: list[float]) -> list[str]:
        return [f"{ms(percentile(values, p)):.1f}" for p in (50, 90, 99)] + [
            f"{ms(max(values)) if values else float('nan'):.1f}", str(len(values))]

    short = f"consumer fetch_max_wait_ms={SHORT_FETCH_WAIT_MS}"
    print_table(["path", "p50 ms", "p90 ms", "p99 ms", "max ms", "n"], [
        ["RegisterPerson sent → event consumed", *pcts(from_send)],
        ["RegisterPerson reply → event consumed", *pcts(latencies(replied,
                                                                 platform_default.arrived))],
        ["  of which: outbox insert → relay round start", *pcts(split)],
        ["broker alone: send+flush → consumed", *pcts(ceiling)],
        [f"RegisterPerson sent → consumed, {short}",
         *pcts(latencies(sent, platform_short.arrived))],
        [f"broker alone, {short}", *pcts(latencies(c_sent, broker_short.arrived))],
    ], "Registration to event on the broker (platform consumer settings unless noted)")
    if errors or missing or len(ceiling) < len(c_sent):
        print(f"  registration errors {len(errors)} {errors[:1]}; events never seen {missing}; "
              f"ceiling records never seen {len(c_sent) - len(ceiling)}")
    return [
        Figure("registration → event p50", "ms", ms(percentile(from_send, 50)),
               ms(percentile(ceiling, 50))),
        Figure("registration → event p99", "ms", ms(percentile(from_send, 99)),
               ms(percentile(ceiling, 99)), TARGET_P99_MS),
    ]


def run(stack: devstack.Stack | None = None, count: int = 300, rate: float = 50.0
        ) -> list[Figure]:
    if stack is None:
        with running_stack() as own:
            return bench(own, count, rate)
    return bench(stack, count, rate)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="registrations to time")
    parser.add_argument("--rate", type=float, default=50.0, help="registrations per second")
    args = parser.parse_args()
    print_figures(run(count=args.count, rate=args.rate), "Registration to event")


if __name__ == "__main__":
    main()
