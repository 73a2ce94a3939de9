"""Aid figures: hardship report → warning event, and a city-wide income update.

    PYTHONPATH=services:scripts .venv/bin/python bench/aid_warnings.py [--households 500000]

1. Report → event: red hardship reports through gRPC (paced), each timed until its WarningRaised
   arrives on cdsp.aid.v1 (a consumer with the platform's settings). Target: p99 under 250 ms.
2. City-wide income update: the aid projection holds N households (bulk-loaded with COPY, 1% of
   them with last month's medical spending at 47% of their income); N HouseholdChanged events
   that halve every income are published on cdsp.registry.v1, as the registry's relay would, and
   the clock runs until the aid service has applied all of them and raised the red warnings the
   new incomes imply (1% of N). Target: under 60 s for 500,000 households. The ceiling is the
   broker alone: publishing and consuming the same records with no processing.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import time
import uuid
from typing import Any

import psycopg
from common import Figure, ensure_small_tree, ms, percentile, print_figures, running_stack, token
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from registration_to_event import Arrivals

import devstack
from cdsp.aid.v1 import aid_pb2 as apb
from cdsp.aid.v1 import aid_pb2_grpc
from cdsp.events.v1 import aid_pb2 as aev
from cdsp.events.v1 import registry_pb2 as rev
from cdsp.events.v1.envelope_pb2 import Envelope
from runtime.events import build_envelope
from runtime.grpc_client import aio_channel
from runtime.kafka_clients import ensure_topics

AID = "aid"
GROUP = "aid-registry-projection"
CITY = "359800"


def _warning_household(record: Any) -> str:
    env = Envelope.FromString(record.value)
    if not env.event_type.endswith("WarningRaised"):
        return ""
    payload = aev.WarningRaised()
    env.payload.Unpack(payload)
    return payload.household_id


def aid_superuser_url(stack: devstack.Stack) -> str:
    return stack.database_url("", superuser=True).rsplit("/", 1)[0] + "/cdsp_aid"


def _count(url: str, sql: str, params: list[Any] | None = None) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql, params or []).fetchone()
    return int(row[0]) if row else 0


async def report_to_event(stack: devstack.Stack, count: int, rate: float) -> list[Figure]:
    community, households = await ensure_small_tree(stack.grpc_addr("registry"), count)
    url = aid_superuser_url(stack)
    deadline = time.monotonic() + 120
    while _count(url, "SELECT count(*) FROM households WHERE household_id = ANY(%s::uuid[])",
                 [households]) < count:
        if time.monotonic() > deadline:
            raise TimeoutError("the aid projection did not learn the bench households")
        await asyncio.sleep(0.5)
    ensure_topics(stack.kafka_bootstrap, ["cdsp.aid.v1"], 6, 1)  # as the aid relay would
    arrivals = Arrivals(stack.kafka_bootstrap, "cdsp.aid.v1", _warning_household)
    await asyncio.to_thread(arrivals.start_and_wait)
    sent: dict[str, float] = {}
    async with aio_channel(stack.grpc_addr(AID), token("community_worker", [community])) as ch:
        stub = aid_pb2_grpc.AidServiceStub(ch)
        for household_id in households:
            started = time.perf_counter()
            sent[household_id] = started
            await stub.ReportHardship(apb.ReportHardshipRequest(
                household_id=household_id, kind=apb.HARDSHIP_KIND_MEDICAL_SPENDING,
                amount_fen=10_000_000), timeout=10)
            await asyncio.sleep(max(0.0, 1 / rate - (time.perf_counter() - started)))
    await asyncio.to_thread(arrivals.wait_for, households, 60)
    latencies = [arrivals.arrived[h] - t for h, t in sent.items() if h in arrivals.arrived]
    print(f"  {len(latencies)} of {count} warnings seen on the topic")
    return [Figure("hardship report → warning event p50", "ms", ms(percentile(latencies, 50)),
                   None),
            Figure("hardship report → warning event p99", "ms", ms(percentile(latencies, 99)),
                   None, target=250)]


def _load_households(url: str, n: int, with_spending: int) -> list[tuple[str, str]]:
    """n households of 2,500 communities (5 grids each) at 3,000 yuan a month; the first
    `with_spending` reported 1,400 yuan of medical spending this month (47%: no warning yet)."""
    rows = []
    for i in range(n):
        community = i % 2500
        path = f"/{CITY}/{CITY}{community // 500:02d}/{CITY}s{community // 50:03d}/" \
               f"c{community:04d}/c{community:04d}-g{i % 5}/"
        rows.append((str(uuid.uuid4()), path))
    with psycopg.connect(url) as conn:
        with conn.cursor().copy("COPY households (household_id, jurisdiction_path, "
                                "monthly_income_fen, version) FROM STDIN") as copy:
            for household_id, path in rows:
                copy.write_row((household_id, path, 300_000, 1))
        buffer = io.StringIO()
        for household_id, path in rows[:with_spending]:
            buffer.write(f"{uuid.uuid4()}\t{household_id}\t{path}\t1\t140000\t300000\t0\t"
                         f"within\tbench\tnow\tbench\n")
        with conn.cursor().copy("COPY hardship_reports (report_id, household_id, "
                                "jurisdiction_path, kind, amount_fen, income_fen, level, reason, "
                                "description, occurred_at, reported_by) FROM STDIN") as copy:
            copy.write(buffer.getvalue())
        conn.execute("ANALYZE households")
        conn.execute("ANALYZE hardship_reports")
    return rows


def _envelopes(rows: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    out = []
    for household_id, path in rows:
        env = build_envelope(rev.HouseholdChanged(household_id=household_id,
                                                  jurisdiction_path=path,
                                                  monthly_income_fen=150_000),
                             aggregate_type="household", aggregate_id=household_id, version=2,
                             jurisdiction_path=path, producer="registry", actor="bench",
                             request_id="bench")
        out.append((household_id.encode(), env.SerializeToString()))
    return out


def _publish(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> float:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20,
                             batch_size=256 * 1024)
    started = time.perf_counter()
    for key, value in records:
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()
    return time.perf_counter() - started


def _broker_ceiling(bootstrap: str, records: list[tuple[bytes, bytes]]) -> float:
    """Publish the same records to a topic of their own and read them all back: the time the
    broker and kafka-python alone need for this volume."""
    topic = f"bench.ceiling.{uuid.uuid4().hex[:6]}"
    started = time.perf_counter()
    _publish(bootstrap, topic, records)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             fetch_max_wait_ms=50, max_poll_records=2000)
    partitions = consumer.partitions_for_topic(topic) or {0}
    consumer.assign([TopicPartition(topic, p) for p in partitions])
    consumer.seek_to_beginning()
    seen = 0
    while seen < len(records):
        for batch in consumer.poll(timeout_ms=500).values():
            seen += len(batch)
    consumer.close()
    return time.perf_counter() - started


def income_update(stack: devstack.Stack, households: int) -> list[Figure]:
    url = aid_superuser_url(stack)
    with_spending = households // 100
    print(f"  loading {households:,} households into the aid projection …", flush=True)
    rows = _load_households(url, households, with_spending)
    records = _envelopes(rows)
    inbox_before = _count(url, "SELECT count(*) FROM inbox WHERE consumer = %s", [GROUP])
    print(f"  publishing {households:,} HouseholdChanged events (incomes halved) …", flush=True)
    started = time.perf_counter()
    published = _publish(stack.kafka_bootstrap, "cdsp.registry.v1", records)
    while True:
        done = _count(url, "SELECT count(*) FROM inbox WHERE consumer = %s", [GROUP])
        if done - inbox_before >= households:
            break
        if time.perf_counter() - started > 1800:
            raise TimeoutError(f"only {done - inbox_before:,} of {households:,} applied")
        time.sleep(0.5)
    elapsed = time.perf_counter() - started
    red = _count(url, "SELECT count(*) FROM aid_cases WHERE level = 3 AND jurisdiction_path "
                      "LIKE %s", [f"/{CITY}/%"])
    print(f"  published in {published:.1f} s; all applied after {elapsed:.1f} s "
          f"({households / elapsed:,.0f} households/s); red warnings raised {red:,} "
          f"(expected {with_spending:,})")
    ceiling = _broker_ceiling(stack.kafka_bootstrap, records)
    return [Figure(f"income update of {households:,} households, re-evaluated", "s", elapsed,
                   ceiling, target=60)]


def run(stack: devstack.Stack | None = None, households: int = 500_000, count: int = 200,
        rate: float = 20.0) -> list[Figure]:
    def bench(s: devstack.Stack) -> list[Figure]:
        devstack.drop_service_database(s, AID)
        devstack.start_service(s, AID)
        try:
            figures = asyncio.run(report_to_event(s, count, rate))
            figures += income_update(s, households)
        finally:
            devstack.stop_service(s, AID)
        return figures

    if stack is not None:
        return bench(stack)
    with running_stack() as own:
        return bench(own)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=500_000)
    parser.add_argument("--reports", type=int, default=200)
    args = parser.parse_args()
    print_figures(run(households=args.households, count=args.reports), "Aid warnings")
