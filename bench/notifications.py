"""Notification figures: notices rendered and dispatched per second to the inbox and webhook
channels, and event → inbox latency.

    PYTHONPATH=services:scripts .venv/bin/python bench/notifications.py [--events 2000]
                                                                         [--samples 200]

The notification service runs on the bench stack (its database emptied first) with the local
stand-ins of its outside ends (scripts/fake_endpoints.py as a process of its own, on the bench
stack's endpoint ports: webhook receiver, SMS/voice provider, SMTP relay), no quiet hours and no
rate limit. Its two consumer groups start at the end of cdsp.registry.v1 and cdsp.aid.v1: what
the benches before this one left on those topics (hundreds of thousands of registry events) is
not this bench's work, as if the service had been running all along and had caught up.

Recipients: `persons` residents of the bench's own city (3597) with a physical disability who
prefer the app, published as PersonRegistered straight onto cdsp.registry.v1 (as the registry's
relay would), each with the community app linked (LinkApp) and one of 20 liaisons; one partner
webhook over their community for WarningRaised (RegisterWebhook). An orange warning then makes a
notice for the resident (inbox) and one for the liaison (inbox + the webhook); a red one for the
resident (inbox) and the grid team (inbox + the webhook): 2 notices, 3 deliveries per event.

1. Throughput: N WarningRaised events, orange and red alternately, published at once onto
   cdsp.aid.v1 as the aid service's relay would (keyed by the case id). The clock runs from the
   first publish to the last notice stored and to the last delivery dispatched on each channel
   (the database's own timestamps). The ceiling of notices/s is the broker alone: a plain
   consumer with the platform's settings reading the same records at the same time.
2. Event → inbox latency: the app connected with StreamInbox for 10 residents; one event at a
   time, from the moment before it is published to the moment its notice arrives on the stream.
   Target: p99 under 300 ms. The ceiling is the broker alone (the same records, publish →
   consumed by a plain consumer); the database's timestamps split each sample into its parts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import psycopg
from common import (
    CpuMeter,
    Figure,
    cpu_line,
    ms,
    percentile,
    print_figures,
    print_table,
    running_stack,
    skip_history,
    token,
    wait_for_quiet,
)
from kafka import KafkaProducer
from registration_to_event import Arrivals

import devstack
from cdsp.common.v1 import common_pb2
from cdsp.events.v1 import aid_pb2 as aev
from cdsp.events.v1 import registry_pb2 as rev
from cdsp.events.v1.envelope_pb2 import Envelope
from cdsp.notification.v1 import notification_pb2 as npb
from cdsp.notification.v1 import notification_pb2_grpc
from runtime.events import build_envelope
from runtime.grpc_client import aio_channel
from runtime.kafka_clients import make_producer

NOTIFICATION = "notification"
REGISTRY_TOPIC = "cdsp.registry.v1"
CONTACTS_TOPIC = "cdsp.registry.contacts.v1"
AID_TOPIC = "cdsp.aid.v1"
NOTICE_GROUP = "notification-notices"
GROUPS = {"notification-recipients": REGISTRY_TOPIC, "notification-contacts": CONTACTS_TOPIC,
          NOTICE_GROUP: AID_TOPIC}
PARTITIONS = 6  # what the relays create topics with (CDSP_TOPIC_PARTITIONS default)
TARGET_P99_MS = 300.0
CITY = "3597"
COMMUNITY = f"/{CITY}/359701/359701001/359701001001/"
GRIDS = [f"{COMMUNITY}359701001001-{g:02d}/" for g in range(1, 6)]
LIAISONS = 20
STREAMS = 10
WARNING_RAISED = "cdsp.events.v1.WarningRaised"
# Per event: 2 notices; deliveries 2 inbox + 1 webhook (one webhook over the community).
NOTICES_PER_EVENT = 2
DELIVERIES_PER_EVENT = {"inbox": 2, "webhook": 1}
SCOPED = "SELECT set_config('cdsp.scope', '/%', true)"


@dataclass(frozen=True)
class Resident:
    person_id: str
    household_id: str
    path: str


def _event_id(record: Any) -> str:
    return str(Envelope.FromString(record.value).event_id)


def _process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used; 0 when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = raw[raw.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pid(stack: devstack.Stack, name: str) -> int:
    proc = stack.procs.get(name)
    if proc is not None:
        return proc.pid
    pidfile = stack.state_dir / f"{name}.pid"
    return int(pidfile.read_text()) if pidfile.exists() else 0


class Meter:
    """The stack's CpuMeter, with the notification service and the endpoints process counted
    apart from "other processes"."""

    def __init__(self, stack: devstack.Stack) -> None:
        self.meter = CpuMeter(stack)
        self.pids = {name: _pid(stack, name) for name in (NOTIFICATION, "endpoints")}

    def read(self) -> dict[str, float]:
        parts = self.meter.read()
        for name, pid in self.pids.items():
            parts[name] = _process_cpu_s(pid) if pid else 0.0
            parts["other processes"] -= parts[name]
        return parts


# ---------------------------------------------------------------- the database

def _rows(url: str, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """A query across all jurisdictions (row-level security: the scope is set first)."""
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute(SCOPED)
        return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]


def _progress(url: str) -> tuple[int, int]:
    """(events the notice consumer has handled, deliveries pending): cheap enough to poll while
    the service works (the inbox table has no row-level security; pending deliveries have an
    index of their own)."""
    handled = _rows(url, "SELECT count(*) FROM inbox WHERE consumer = %s", [NOTICE_GROUP])
    pending = _rows(url, "SELECT count(*) FROM deliveries WHERE status = 1")
    return int(handled[0][0]), int(pending[0][0])


# ---------------------------------------------------------------- the broker

def _person_envelopes(residents: list[Resident]) -> list[tuple[bytes, bytes]]:
    out = []
    for i, r in enumerate(residents):
        snapshot = rev.PersonSnapshot(
            person_id=r.person_id, household_id=r.household_id, jurisdiction_path=r.path,
            category=common_pb2.DISABILITY_CATEGORY_PHYSICAL, grade=1 + i % 4, certified=True,
            liaison_id=f"bench-liaison-{i % LIAISONS:02d}", need_codes=["rehabilitation"])
        env = build_envelope(rev.PersonRegistered(person=snapshot), aggregate_type="person",
                             aggregate_id=r.person_id, version=1, jurisdiction_path=r.path,
                             producer="registry", actor="bench", request_id="bench")
        out.append((r.person_id.encode(), env.SerializeToString()))
    return out


def _contact_envelopes(residents: list[Resident]) -> list[tuple[bytes, bytes]]:
    """Each resident's PersonContact, as the registry publishes it on its contacts topic."""
    out = []
    for i, r in enumerate(residents):
        contact = rev.PersonContact(person_id=r.person_id, name=f"通知测试{i}",
                                    phone=f"139{i:08d}",
                                    preferred_channel=common_pb2.CONTACT_CHANNEL_APP)
        env = build_envelope(contact, aggregate_type="person_contact", aggregate_id=r.person_id,
                             version=1, jurisdiction_path=r.path, producer="registry",
                             actor="bench", request_id="bench")
        out.append((r.person_id.encode(), env.SerializeToString()))
    return out


def _warning(r: Resident, red: bool) -> tuple[str, bytes, bytes]:
    """(event id, key, envelope) of a WarningRaised about one resident's household."""
    case_id = str(uuid.uuid4())
    payload = aev.WarningRaised(
        household_id=r.household_id, case_id=case_id,
        level=aev.WARNING_LEVEL_RED if red else aev.WARNING_LEVEL_ORANGE,
        reason="bench: medical spending at 60% of income", person_ids=[r.person_id])
    env = build_envelope(payload, aggregate_type="aid_case", aggregate_id=case_id, version=1,
                         jurisdiction_path=r.path, producer="aid", actor="bench",
                         request_id="bench")
    return env.event_id, case_id.encode(), env.SerializeToString()


def _publish(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> float:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20,
                             batch_size=256 * 1024)
    started = time.perf_counter()
    for key, value in records:
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()
    return time.perf_counter() - started


# ---------------------------------------------------------------- set-up

async def _set_up(stack: devstack.Stack, persons: int) -> list[Resident]:
    """Residents projected into the service with their app linked, and the partner webhook."""
    url = stack.database_url(NOTIFICATION)
    residents = [Resident(str(uuid.uuid4()), str(uuid.uuid4()), GRIDS[i % len(GRIDS)])
                 for i in range(persons)]
    await asyncio.to_thread(_publish, stack.kafka_bootstrap, REGISTRY_TOPIC,
                            _person_envelopes(residents))
    await asyncio.to_thread(_publish, stack.kafka_bootstrap, CONTACTS_TOPIC,
                            _contact_envelopes(residents))
    deadline = time.monotonic() + 120
    while (known := _rows(url, "SELECT count(*) FROM recipients r JOIN recipient_contacts c "
                          "USING (person_id) WHERE r.jurisdiction_path LIKE %s",
                          [f"{COMMUNITY}%"])[0][0]) < persons:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {known} of {persons} residents projected")
        await asyncio.sleep(0.2)
    addr = stack.grpc_addr(NOTIFICATION)
    async with aio_channel(addr, token("community_worker", [COMMUNITY])) as channel:
        stub = notification_pb2_grpc.NotificationServiceStub(channel)
        for start in range(0, persons, 50):
            await asyncio.gather(*(stub.LinkApp(npb.LinkAppRequest(person_id=r.person_id,
                                                                   linked=True), timeout=10)
                                   for r in residents[start:start + 50]))
    hook = f"http://127.0.0.1:{stack.endpoint_port('webhook')}/hook"
    async with aio_channel(addr, token("city_admin", [f"/{CITY}/"], "bench-admin")) as channel:
        stub = notification_pb2_grpc.NotificationServiceStub(channel)
        await stub.RegisterWebhook(npb.RegisterWebhookRequest(
            url=hook, event_types=[WARNING_RAISED], jurisdiction_path=COMMUNITY), timeout=10)
    return residents


def _webhooks_received(stack: devstack.Stack) -> int:
    log = stack.state_dir / "endpoints" / "webhook.jsonl"
    try:
        with log.open("rb") as lines:
            return sum(1 for _ in lines)
    except OSError:
        return 0


# ---------------------------------------------------------------- 1. throughput

def throughput(stack: devstack.Stack, residents: list[Resident], events: int) -> list[Figure]:
    url = stack.database_url(NOTIFICATION)
    records = [_warning(residents[i % len(residents)], red=i % 2 == 1) for i in range(events)]
    handled_before, _ = _progress(url)
    hooks_before = _webhooks_received(stack)
    watcher = Arrivals(stack.kafka_bootstrap, AID_TOPIC, _event_id)
    watcher.start_and_wait()
    meter = Meter(stack)
    print(f"  publishing {events:,} WarningRaised events (half orange, half red) at once …",
          flush=True)
    cpu_before = meter.read()
    started_wall, started = time.time(), time.perf_counter()
    published = _publish(stack.kafka_bootstrap, AID_TOPIC, [(k, v) for _, k, v in records])
    last_change, last_seen = time.perf_counter(), (-1, -1)
    while True:
        time.sleep(0.5)
        handled, pending = _progress(url)
        if handled - handled_before >= events and not pending:
            break  # every event's notices stored (in the same transaction), nothing pending
        if (handled, pending) != last_seen:
            last_change, last_seen = time.perf_counter(), (handled, pending)
        elif time.perf_counter() - last_change > 60:
            print(f"  no progress for 60 s: {handled - handled_before:,} events handled, "
                  f"{pending:,} deliveries pending", flush=True)
            break
    elapsed = time.perf_counter() - started
    used = CpuMeter.delta(cpu_before, meter.read())
    watcher.wait_for([e for e, _, _ in records], 30)
    seen = [watcher.arrived[e] - started for e, _, _ in records if e in watcher.arrived]
    broker_s = max(seen) if len(seen) == events else float("nan")

    ids = [e for e, _, _ in records]
    (n_notices, first, last), = _rows(
        url, "SELECT count(*), extract(epoch FROM min(created_at)), "
             "extract(epoch FROM max(created_at)) FROM notices "
             "WHERE source_event_id = ANY(%s::uuid[])", [ids])
    # Dispatched: status 2 sent or 3 delivered; 4 failed (cdsp.notification.v1.DeliveryStatus).
    per_channel = {str(c): (int(n), float(t), int(f)) for c, n, t, f in _rows(
        url, "SELECT d.channel, count(*) FILTER (WHERE d.status IN (2, 3)), "
             "extract(epoch FROM coalesce(max(d.sent_at), now())), "
             "count(*) FILTER (WHERE d.status = 4) "
             "FROM deliveries d JOIN notices n USING (notice_id) "
             "WHERE n.source_event_id = ANY(%s::uuid[]) GROUP BY d.channel", [ids])}
    stored_s = float(last) - started_wall if last is not None else float("nan")
    notice_rate = int(n_notices) / stored_s
    rows = [["notices rendered and stored", f"{int(n_notices):,}",
             f"{float(first) - started_wall:.2f}" if first is not None else "-",
             f"{stored_s:.2f}", f"{notice_rate:,.0f}", "-"]]
    rates: dict[str, float] = {}
    for channel in DELIVERIES_PER_EVENT:
        count, at, failed = per_channel.get(channel, (0, started_wall, 0))
        rates[channel] = count / (at - started_wall) if count else 0.0
        rows.append([f"{channel} deliveries dispatched", f"{count:,}", "-",
                     f"{at - started_wall:.2f}", f"{rates[channel]:,.0f}", f"{failed:,}"])
    rows.append(["broker alone: events consumed", f"{len(seen):,}", "-", f"{broker_s:.2f}",
                 f"{events / broker_s:,.0f}", "-"])
    print_table(["what", "count", "first after s", "last after s", "per s", "failed"], rows,
                f"{events:,} warning events published at once (in {published:.2f} s)")
    (rounds, dispatched), = _rows(
        url, "SELECT count(DISTINCT d.sent_at), count(d.sent_at) FROM deliveries d "
             "JOIN notices n USING (notice_id) WHERE n.source_event_id = ANY(%s::uuid[])", [ids])
    print(f"  all stored and dispatched after {elapsed:.1f} s ({events / elapsed:,.0f} events/s"
          f"); the webhook receiver got {_webhooks_received(stack) - hooks_before:,} requests; "
          f"{int(rounds):,} dispatcher rounds ({int(dispatched) / max(int(rounds), 1):.1f} "
          "deliveries a round)")
    print(cpu_line(used, events, "event"), flush=True)
    return [
        Figure("warning events → notices stored", "notices/s", notice_rate,
               NOTICES_PER_EVENT * events / broker_s, higher_is_better=True),
        Figure("inbox deliveries dispatched", "deliveries/s", rates["inbox"], None,
               higher_is_better=True),
        Figure("webhook deliveries dispatched", "deliveries/s", rates["webhook"], None,
               higher_is_better=True),
    ]


# ---------------------------------------------------------------- 2. latency

async def latency(stack: devstack.Stack, residents: list[Resident], samples: int
                  ) -> list[Figure]:
    url = stack.database_url(NOTIFICATION)
    streamed = residents[:STREAMS]
    arrived: dict[str, float] = {}
    waiting: dict[str, asyncio.Event] = {}
    watcher = Arrivals(stack.kafka_bootstrap, AID_TOPIC, _event_id)
    await asyncio.to_thread(watcher.start_and_wait)
    producer = make_producer(stack.kafka_bootstrap, "bench-aid-relay")

    async def read(call: Any) -> None:
        async for notice in call:
            arrived.setdefault(notice.source_event_id, time.perf_counter())
            if notice.source_event_id in waiting:
                waiting[notice.source_event_id].set()

    def send(key: bytes, value: bytes) -> None:
        producer.send(AID_TOPIC, key=key, value=value).get(10)

    sent: dict[str, float] = {}
    sent_wall: dict[str, float] = {}
    acked: dict[str, float] = {}
    levels: dict[str, bool] = {}
    missing = 0
    print(f"  {samples} events one at a time, the app connected for {STREAMS} residents …",
          flush=True)
    # The token goes in each call's metadata: runtime.grpc_client.aio_channel's interceptor is
    # registered by grpc.aio as a unary-unary one only, so streams through it carry no token.
    bearer = (("authorization", f"Bearer {token('community_worker', [COMMUNITY])}"),)
    async with grpc.aio.insecure_channel(stack.grpc_addr(NOTIFICATION)) as channel:
        stub = notification_pb2_grpc.NotificationServiceStub(channel)
        calls = [stub.StreamInbox(npb.StreamInboxRequest(recipient_id=r.person_id),
                                  metadata=bearer) for r in streamed]
        for call in calls:
            await asyncio.wait_for(call.initial_metadata(), 10)
        readers = [asyncio.create_task(read(call)) for call in calls]
        try:
            for i in range(samples + 10):  # the first 10 warm up and are not counted
                for call, reader in zip(calls, readers, strict=True):
                    if reader.done():
                        raise RuntimeError(f"StreamInbox ended: {await call.code()} "
                                           f"{await call.details()}")
                red = i % 2 == 1
                event_id, key, value = _warning(streamed[i % len(streamed)], red)
                waiting[event_id] = asyncio.Event()
                sent_wall[event_id], t0 = time.time(), time.perf_counter()
                await asyncio.to_thread(send, key, value)
                ack = time.perf_counter()
                try:
                    await asyncio.wait_for(waiting[event_id].wait(), 10)
                except TimeoutError:
                    missing += 1
                if i >= 10:
                    sent[event_id], acked[event_id], levels[event_id] = t0, ack, red
                await asyncio.sleep(0.02)
        finally:
            for call in calls:
                call.cancel()
            for task in readers:
                task.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
            producer.close(5)
    await asyncio.to_thread(watcher.wait_for, list(sent), 10)

    def since_sent(at: dict[str, float], keys: list[str] | None = None) -> list[float]:
        return [at[e] - sent[e] for e in (keys or list(sent)) if e in at]

    e2e = since_sent(arrived)
    broker = since_sent(watcher.arrived)
    parts = {str(e): (float(stored), float(done)) for e, stored, done in _rows(
        url, "SELECT n.source_event_id::text, extract(epoch FROM n.created_at), "
             "extract(epoch FROM d.sent_at) FROM notices n JOIN deliveries d USING (notice_id) "
             "WHERE n.source_event_id = ANY(%s::uuid[]) AND n.recipient_kind = 'resident' "
             "AND d.channel = 'inbox' AND d.sent_at IS NOT NULL", [list(sent)])}
    consumed = [parts[e][0] - sent_wall[e] for e in sent if e in parts]
    dispatched = [parts[e][1] - parts[e][0] for e in sent if e in parts]
    pushed = [arrived[e] - sent[e] - (parts[e][1] - sent_wall[e]) for e in sent
              if e in parts and e in arrived]

    def pcts(values: list[float]) -> list[str]:
        return [f"{ms(percentile(values, p)):.1f}" for p in (50, 95, 99)] + [
            f"{ms(max(values)) if values else float('nan'):.1f}", str(len(values))]

    print_table(["path", "p50 ms", "p95 ms", "p99 ms", "max ms", "n"], [
        ["event published → notice on the app's stream", *pcts(e2e)],
        ["  orange (normal)", *pcts(since_sent(arrived, [e for e in sent if not levels[e]]))],
        ["  red (urgent)", *pcts(since_sent(arrived, [e for e in sent if levels[e]]))],
        ["  publish → broker's ack", *pcts(since_sent(acked))],
        ["  publish → notice stored (consumer's transaction start)", *pcts(consumed)],
        ["  notice stored → inbox delivery recorded (dispatcher round)", *pcts(dispatched)],
        ["  delivery recorded → on the stream (NOTIFY, GetNotice, gRPC)", *pcts(pushed)],
        ["broker alone: publish → consumed by a plain consumer", *pcts(broker)],
    ], "Event → inbox (database clock for the split; same host)")
    if missing or len(e2e) < len(sent):
        print(f"  {missing} notices never arrived on the stream within 10 s")
    return [
        Figure("warning event → inbox stream p50", "ms", ms(percentile(e2e, 50)),
               ms(percentile(broker, 50))),
        Figure("warning event → inbox stream p95", "ms", ms(percentile(e2e, 95)),
               ms(percentile(broker, 95))),
        Figure("warning event → inbox stream p99", "ms", ms(percentile(e2e, 99)),
               ms(percentile(broker, 99)), TARGET_P99_MS),
    ]


# ---------------------------------------------------------------- the bench

def bench(stack: devstack.Stack, events: int, samples: int, persons: int) -> list[Figure]:
    own_endpoints = not devstack.port_open(stack.endpoint_port("webhook"))
    devstack.start_endpoints(stack)
    try:
        devstack.drop_service_database(stack, NOTIFICATION)
        skip_history(stack.kafka_bootstrap, list(GROUPS.items()), PARTITIONS)
        devstack.start_service(stack, NOTIFICATION, {
            **stack.endpoint_env(), "CDSP_NOTIFY_QUIET_HOURS": "",
            "CDSP_NOTIFY_RATE_PER_HOUR": "0"})
        try:
            print(f"  {persons} residents projected, their app linked, one partner webhook …",
                  flush=True)
            residents = asyncio.run(_set_up(stack, persons))
            wait_for_quiet(stack)
            figures = throughput(stack, residents, events)
            figures += asyncio.run(latency(stack, residents, samples))
        finally:
            devstack.stop_service(stack, NOTIFICATION)
    finally:
        if own_endpoints:
            devstack.stop_endpoints(stack)
    return figures


def run(stack: devstack.Stack | None = None, events: int = 2000, samples: int = 200,
        persons: int = 500) -> list[Figure]:
    if stack is None:
        with running_stack() as own:
            return bench(own, events, samples, persons)
    return bench(stack, events, samples, persons)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000, help="events of the throughput run")
    parser.add_argument("--samples", type=int, default=200, help="events timed one at a time")
    parser.add_argument("--persons", type=int, default=500, help="residents to notify")
    args = parser.parse_args()
    print_figures(run(events=args.events, samples=args.samples, persons=args.persons),
                  "Notifications")


if __name__ == "__main__":
    main()
