"""Registrations per second and their latency through gRPC, at 1, 8 and 64 concurrent callers,
next to the ceiling: the same two INSERTs (persons, outbox) in one transaction straight into
PostgreSQL with psycopg at the same concurrency.

    PYTHONPATH=services:scripts .venv/bin/python bench/registrations.py [--seconds 8]

gRPC side: one grpc.aio channel, `concurrency` asyncio tasks each calling RegisterPerson in a
loop (valid, distinct resident IDs) for a fixed time. Ceiling side: `concurrency` psycopg
connections as the service's own role (row-level security applies), each running
set_config(cdsp.scope) + INSERT persons + INSERT outbox + COMMIT, with rows prepared beforehand.
Between phases the bench waits until the outbox relay has published everything, so no phase
pays for the previous one's events.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import grpc
import psycopg
from common import (
    AREA_GRPC,
    AREA_PG,
    REGISTRY,
    CpuMeter,
    Figure,
    ResidentIds,
    cpu_line,
    ensure_small_tree,
    ms,
    outbox_drained,
    percentile,
    person_message,
    print_figures,
    print_table,
    running_stack,
    superuser_url,
    token,
    wait_for_quiet,
)

import devstack
from cdsp.registry.v1 import registry_pb2 as pb
from cdsp.registry.v1 import registry_pb2_grpc
from registry.adapters import person_store
from registry.domain import events
from registry.domain.person import DEFAULT_PRIORITY_GROUPS
from registry.entrypoints.mapping import person_from_proto
from runtime.events import build_envelope
from runtime.grpc_client import aio_channel

LEVELS = (1, 8, 64)
TARGET_PER_S = 1500.0
HOUSEHOLDS = 64
INSERT_PERSON = (f"INSERT INTO persons (person_id, {person_store._COLUMNS}) "
                 f"VALUES ({', '.join(['%s'] * 24)}) RETURNING created_at")
INSERT_OUTBOX = ("INSERT INTO outbox (event_id, topic, record_key, event_type, envelope) "
                 "VALUES (%s, %s, %s, %s, %s)")
SET_SCOPE = "SELECT set_config('cdsp.scope', %s, true), set_config('cdsp.actor', %s, true)"


@dataclass
class Run:
    calls: int = 0
    errors: int = 0
    first_error: str = ""
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def per_s(self) -> float:
        return self.calls / self.elapsed if self.elapsed else 0.0


async def drive(concurrency: int, seconds: float, max_calls: int,
                one: Callable[[int], Awaitable[None]]) -> Run:
    """`concurrency` tasks calling `one(worker)` back to back until time or calls run out."""
    run = Run()
    deadline = time.perf_counter() + seconds
    issued = 0

    async def worker(w: int) -> None:
        nonlocal issued
        while time.perf_counter() < deadline and issued < max_calls:
            issued += 1
            t0 = time.perf_counter()
            try:
                await one(w)
            except (grpc.aio.AioRpcError, psycopg.Error) as exc:
                run.errors += 1
                run.first_error = run.first_error or f"{type(exc).__name__}: {exc}"[:300]
                continue
            run.latencies.append(time.perf_counter() - t0)
            run.calls += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    run.elapsed = time.perf_counter() - started
    return run


# ---------------------------------------------------------------- through gRPC

def grpc_requests(households: list[str], ids: ResidentIds) -> Iterator[pb.RegisterPersonRequest]:
    i = 0
    while True:
        yield pb.RegisterPersonRequest(person=person_message(next(ids), households[i % len(
            households)], i))
        i += 1


async def grpc_level(stub: Any, requests: Iterator[pb.RegisterPersonRequest], concurrency: int,
                     seconds: float, max_calls: int, meter: CpuMeter
                     ) -> tuple[Run, dict[str, float]]:
    batch = [next(requests) for _ in range(max_calls)]  # built before the clock starts
    it = iter(batch)

    async def one(_: int) -> None:
        await stub.RegisterPerson(next(it), timeout=30)

    before = meter.read()
    run = await drive(concurrency, seconds, max_calls, one)
    return run, CpuMeter.delta(before, meter.read())


# ---------------------------------------------------------------- straight into PostgreSQL

@dataclass
class Prepared:
    person: list[Any]
    outbox: tuple[Any, ...]


def prepared_rows(households: list[tuple[str, str, int]], ids: ResidentIds, n: int,
                  subject: str) -> list[Prepared]:
    """The exact parameters the service would send: the domain Person after validation, the
    store's column values and the outbox row with the PersonRegistered envelope."""
    today = datetime.now(UTC).date()
    rows = []
    for i in range(n):
        household_id, path, income = households[i % len(households)]
        p = person_from_proto(person_message(next(ids), household_id, i))
        p.person_id = str(uuid.uuid4())
        p.validate(today, DEFAULT_PRIORITY_GROUPS)
        p.jurisdiction_path, p.version = path, 1
        p.last_verified_at = datetime.now(UTC)
        env = build_envelope(events.person_registered(p, income), aggregate_type="person",
                             aggregate_id=p.person_id, version=1, jurisdiction_path=path,
                             producer=REGISTRY, actor=subject, request_id=uuid.uuid4().hex)
        rows.append(Prepared([p.person_id, *person_store._person_values(p)],
                             (env.event_id, "cdsp.registry.v1", p.person_id, env.event_type,
                              env.SerializeToString())))
    return rows


async def pg_level(url: str, scope: str, subject: str, rows: list[Prepared], concurrency: int,
                   seconds: float, meter: CpuMeter) -> tuple[Run, dict[str, float]]:
    conns = [await psycopg.AsyncConnection.connect(url, autocommit=False)
             for _ in range(concurrency)]
    it = iter(rows)

    async def one(w: int) -> None:
        conn = conns[w]
        row = next(it)
        try:
            await conn.execute(SET_SCOPE, [scope, subject])
            await (await conn.execute(INSERT_PERSON, row.person)).fetchone()
            await conn.execute(INSERT_OUTBOX, row.outbox)
            await conn.commit()
        except BaseException:
            await conn.rollback()
            raise

    try:
        before = meter.read()  # with the connections open: their backends are counted
        run = await drive(concurrency, seconds, len(rows), one)
        return run, CpuMeter.delta(before, meter.read())
    finally:
        for conn in conns:
            await conn.close()


# ---------------------------------------------------------------- the bench

async def bench(stack: devstack.Stack, seconds: float) -> list[Figure]:
    addr = stack.grpc_addr(REGISTRY)
    su = superuser_url(stack)
    community, household_ids = await ensure_small_tree(addr, HOUSEHOLDS)
    subject = "bench-worker"
    worker_token = token("community_worker", [community], subject)
    async with await psycopg.AsyncConnection.connect(su) as conn:
        households = [(str(r[0]), r[1], r[2]) for r in await (await conn.execute(
            "SELECT household_id, jurisdiction_path, monthly_income_fen FROM households "
            "WHERE household_id = ANY(%s)", [household_ids])).fetchall()]
    grpc_ids, pg_ids = ResidentIds(AREA_GRPC), ResidentIds(AREA_PG)
    requests = grpc_requests(household_ids, grpc_ids)
    meter = CpuMeter(stack)
    await asyncio.to_thread(wait_for_quiet, stack)
    cap = int(seconds * 3000)  # no level gets near 3,000/s; the time limit ends each level
    results: dict[tuple[str, int], Run] = {}
    cpu: dict[tuple[str, int], str] = {}
    async with aio_channel(addr, worker_token) as channel:
        stub = registry_pb2_grpc.RegistryServiceStub(channel)
        print(f"warming up (gRPC and PostgreSQL, 2 s each); then {seconds:.0f} s per level",
              flush=True)
        await grpc_level(stub, requests, 8, 2.0, 4000, meter)
        await pg_level(stack.database_url(REGISTRY), community + "%", subject,
                       prepared_rows(households, pg_ids, 4000, subject), 8, 2.0, meter)
        await outbox_drained(su)
        for level in LEVELS:
            for side in ("gRPC", "PostgreSQL"):
                rows = (prepared_rows(households, pg_ids, cap, subject)
                        if side == "PostgreSQL" else None)
                if rows is None:
                    run, used = await grpc_level(stub, requests, level, seconds, cap, meter)
                else:
                    run, used = await pg_level(stack.database_url(REGISTRY), community + "%",
                                               subject, rows, level, seconds, meter)
                left = await outbox_drained(su)
                results[(side, level)] = run
                cpu[(side, level)] = cpu_line(used, run.calls, "registration")
                print(f"  {side:<10} {level:>2} callers: {run.calls:>6} in {run.elapsed:5.1f} s "
                      f"= {run.per_s:7.0f}/s  p50 {ms(percentile(run.latencies, 50)):6.2f} ms  "
                      f"p99 {ms(percentile(run.latencies, 99)):6.2f} ms  errors {run.errors}"
                      + (f" ({run.first_error})" if run.errors else "")
                      + (f"  [outbox not drained: {left}]" if left else ""), flush=True)
                print(cpu[(side, level)], flush=True)

    table = []
    figures = []
    for level in LEVELS:
        g, p = results[("gRPC", level)], results[("PostgreSQL", level)]
        table.append([str(level), f"{g.per_s:,.0f}", f"{p.per_s:,.0f}",
                      f"{g.per_s / p.per_s:.2f}" if p.per_s else "-",
                      f"{ms(percentile(g.latencies, 50)):.2f} / "
                      f"{ms(percentile(g.latencies, 99)):.2f}",
                      f"{ms(percentile(p.latencies, 50)):.2f} / "
                      f"{ms(percentile(p.latencies, 99)):.2f}", str(g.errors + p.errors)])
        callers = f"{level} caller{'s' if level > 1 else ''}"
        figures.append(Figure(f"registrations/s, {callers}", "/s", g.per_s, p.per_s,
                              TARGET_PER_S if level == max(LEVELS) else None,
                              higher_is_better=True))
        figures.append(Figure(f"register p50, {callers}", "ms", ms(percentile(g.latencies, 50)),
                              ms(percentile(p.latencies, 50))))
        figures.append(Figure(f"register p99, {callers}", "ms", ms(percentile(g.latencies, 99)),
                              ms(percentile(p.latencies, 99))))
    print_table(["callers", "gRPC /s", "PostgreSQL /s", "gRPC/PG", "gRPC p50/p99 ms",
                 "PG p50/p99 ms", "errors"], table,
                "Registrations: through gRPC vs the same INSERTs straight into PostgreSQL")
    return figures


def run(stack: devstack.Stack | None = None, seconds: float = 8.0) -> list[Figure]:
    if stack is None:
        with running_stack() as own:
            return asyncio.run(bench(own, seconds))
    return asyncio.run(bench(stack, seconds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="measured time per level")
    args = parser.parse_args()
    print_figures(run(seconds=args.seconds), "Registrations")


if __name__ == "__main__":
    main()
