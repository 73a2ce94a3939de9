"""The worker console's pages with 500,000 persons in the registry: the time to answer a person's
file (GET /persons/{id}) and a 50-row list (GET /persons?...) for signed-in grid and community
workers, next to the ceiling: the same gRPC calls the page makes, made straight by a client with
the console's own gRPC code (console.adapters.backends.Backends), same run, same samples.

    PYTHONPATH=services:scripts .venv/bin/python bench/console_pages.py [--persons 500000]
                                                                        [--calls 300]

(Not bench/console.py: that name would hide the `console` package from the bench's imports.)

Stack: the bench stack's PostgreSQL, broker and registry, the persons bulk-loaded as
list_by_community.py loads them (COPY: a city of 2,496 communities × 5 grids); the aid and
volunteer services (a person's file asks them for the care schedule, the pairings and the open
aid cases of the person's grid) with empty databases, their consumers moved past what other
benches left on the broker; the local identity issuer with the bench's workers (a community
worker of each of 20 random communities, a grid worker of a grid in each); the console itself
on 127.0.0.1:8180 (metrics :9209), each worker signed in through its sign-in form.

Per sample (a random worker, a random person of theirs), one at a time: the page over HTTP
(keep-alive, the whole body read) and its gRPC calls straight, in alternating order. The page's
calls: the file is GetPerson, then at once GetCareSchedule, ListPairings (and GetVolunteer for
paired volunteers) and ListCases of the person's grid (page_size 200); the list is one
ListPersons (page_size 50, the worker's own jurisdictions, the filters of the address). BFF
overhead = page time - gRPC time of the same sample (p50 and p99 of those differences): what the
console adds (HTTP, the sealed session, routing, the page's logic, Jinja2 rendering). The
console's own histograms (/metrics) give the gRPC calls it made per page, and /proc its CPU per
page. The aid and volunteer sections are empty here (bulk-loaded persons have no cases or
pairings): the registry's part of a file, and the list, are full.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
from common import (
    REGISTRY,
    Figure,
    ms,
    percentile,
    print_figures,
    print_table,
    running_stack,
    skip_history,
    superuser_url,
    wait_for_quiet,
)
from list_by_community import PERSONS, bulk_load

import devstack
from cdsp.aid.v1 import aid_pb2
from cdsp.registry.v1 import registry_pb2 as pb
from cdsp.volunteer.v1 import volunteer_pb2 as vpb
from console.adapters.backends import Backends, CallFailed

CALLS = 300
SECONDS = 60.0            # a case stops early when its samples take this long
WORKERS = 20              # communities sampled; a community and a grid worker in each
CONSOLE_PORT = 8180       # the bench stack's console (its metrics: 9109 + the stack's offset)
CALLED = ("aid", "volunteer")  # besides the registry, what the pages call
HISTORY = [("aid-registry-projection", "cdsp.registry.v1"),
           ("volunteer-registry-projection", "cdsp.registry.v1"),
           ("volunteer-aid-warnings", "cdsp.aid.v1")]
SEED = 20240614
PASSWORD = "bench-" + secrets.token_hex(8)  # the bench workers' (this run's users file)
SCALE = re.compile(r"^(cdsp_console_backend_call_seconds_(?:sum|count))\{(.*)\} (\S+)$", re.M)
PERSON_LINK = re.compile(r'href="/persons/([0-9a-f-]{36})"')
REFUSED: dict[str, int] = {}  # "service CODE" -> calls of the straight client refused so


@dataclass
class Worker:
    username: str
    role: str
    scope: str                                   # the jurisdiction path they cover
    persons: list[tuple[str, str]] = field(default_factory=list)  # (person_id, grid path)
    cookie: str = ""
    token: str = ""


@dataclass
class Sample:
    page_s: float
    grpc_s: float
    size: int
    rows: int           # persons the page links to (a list's rows)
    direct_rows: int    # persons ListPersons gave the straight client (lists)
    errors: int         # sections the page could not fill (class="error-text")

    @property
    def overhead_s(self) -> float:
        return self.page_s - self.grpc_s


# ---------------------------------------------------------------- the stack's parts


def choose_workers(url: str, communities: list[str], rng: random.Random) -> list[Worker]:
    """A community worker of each of WORKERS random communities that have persons, and a grid
    worker of the grid of one of them; each with the persons they may open."""
    workers: list[Worker] = []
    with psycopg.connect(url) as conn:
        for community in rng.sample(communities, len(communities)):
            rows = conn.execute("SELECT person_id::text, jurisdiction_path FROM persons "
                                "WHERE jurisdiction_path LIKE %s ORDER BY person_id",
                                [community + "%"]).fetchall()
            if not rows:
                continue
            n = len(workers) // 2
            grid = rng.choice(rows)[1]
            workers.append(Worker(f"bench-cw-{n}", "community_worker", community, list(rows)))
            workers.append(Worker(f"bench-gw-{n}", "grid_worker", grid,
                                  [r for r in rows if r[1] == grid]))
            if len(workers) >= 2 * WORKERS:
                break
    return workers


def start_parts(stack: devstack.Stack, workers: list[Worker], password: str,
                started: list[str]) -> None:
    """aid, volunteer (empty databases), the issuer with the workers, the console; what it
    started is appended to `started` (to stop, even when a later part fails)."""
    skip_history(stack.kafka_bootstrap, HISTORY)
    for service in CALLED:
        devstack.drop_service_database(stack, service)
        started.append(service)
        devstack.start_service(stack, service, {"CDSP_SHUTDOWN_GRACE_S": "5",
                                                "CDSP_VOLUNTEER_SCAN_S": "3600"})
    stack.identity.ensure().write_users(
        [{"username": w.username, "role": w.role, "scopes": [w.scope]} for w in workers],
        password)
    if not devstack.port_open(stack.issuer_port):
        started.append("issuer")
    devstack.start_issuer(stack)
    stack.console_port = CONSOLE_PORT
    if devstack.port_open(CONSOLE_PORT):
        raise SystemExit(f"something already listens on 127.0.0.1:{CONSOLE_PORT}")
    started.append("console")
    devstack.start_console(stack)


def stop_parts(stack: devstack.Stack, started: list[str]) -> None:
    for name in reversed(started):
        if name == "issuer":
            devstack.stop_issuer(stack)
            stack.issuer_url = ""  # services started later read the identity folder's files
        else:
            devstack.stop_service(stack, name)
    stack.console_port = devstack.CONSOLE_PORT


def console_metrics_url(stack: devstack.Stack) -> str:
    return f"http://127.0.0.1:{devstack.CONSOLE_METRICS_PORT + stack._other_offset}/metrics"


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- the two sides


async def sign_in(http: aiohttp.ClientSession, base: str, worker: Worker, password: str) -> None:
    async with http.post(f"{base}/login", data={"username": worker.username,
                                                "password": password, "next": "/"},
                         allow_redirects=False) as reply:
        await reply.read()
        session = reply.cookies.get("cdsp_session")
        if reply.status != 303 or session is None:
            raise RuntimeError(f"sign-in of {worker.username} failed: HTTP {reply.status}")
        worker.cookie = session.value


async def page(http: aiohttp.ClientSession, base: str, worker: Worker, path: str
               ) -> tuple[float, bytes]:
    t0 = time.perf_counter()
    async with http.get(base + path, headers={"Cookie": f"cdsp_session={worker.cookie}"},
                        allow_redirects=False) as reply:
        body = await reply.read()
    elapsed = time.perf_counter() - t0
    if reply.status != 200:
        raise RuntimeError(f"GET {path} as {worker.username}: HTTP {reply.status}")
    return elapsed, body


async def quiet(call: Awaitable[Any]) -> Any:
    """A call whose refusal the page shows in its section (not an error of the page)."""
    try:
        return await call
    except CallFailed as failed:
        if failed.unavailable:
            raise
        what = f"{failed.service} {failed.code.name}"
        REFUSED[what] = REFUSED.get(what, 0) + 1
        return None


async def file_calls(backends: Backends, worker: Worker, person_id: str) -> tuple[float, int]:
    """What GET /persons/{id} asks the services, in the same order and concurrency."""
    t0 = time.perf_counter()
    person = await backends.call(worker.token, "registry", "GetPerson",
                                 pb.GetPersonRequest(person_id=person_id))

    async def pairings() -> None:
        found = await quiet(backends.call(worker.token, "volunteer", "ListPairings",
                                          vpb.ListPairingsRequest(person_id=person_id)))
        ids = list(dict.fromkeys(p.volunteer_id for p in found.pairings if p.active)) \
            if found else []
        await asyncio.gather(*(quiet(backends.call(
            worker.token, "volunteer", "GetVolunteer", vpb.GetVolunteerRequest(volunteer_id=v)))
            for v in ids[:10]))

    await asyncio.gather(
        quiet(backends.call(worker.token, "volunteer", "GetCareSchedule",
                            vpb.GetCareScheduleRequest(person_id=person_id))),
        pairings(),
        quiet(backends.call(worker.token, "aid", "ListCases", aid_pb2.ListCasesRequest(
            jurisdiction_path=person.jurisdiction_path, page_size=200))))
    return time.perf_counter() - t0, 0


Direct = Callable[[Backends, Worker, str], Awaitable[tuple[float, int]]]


def list_calls(filters: dict[str, Any]) -> Direct:
    async def calls(backends: Backends, worker: Worker, _: str) -> tuple[float, int]:
        t0 = time.perf_counter()
        found = await backends.call(worker.token, "registry", "ListPersons",
                                    pb.ListPersonsRequest(page_size=50, **filters))
        return time.perf_counter() - t0, len(found.persons)

    return calls


@dataclass
class Case:
    name: str
    role: str
    path: Callable[[str], str]                      # person id -> the page's address
    direct: Direct


CASES = [
    Case("person's file, grid worker", "grid_worker", lambda p: f"/persons/{p}", file_calls),
    Case("person's file, community worker", "community_worker", lambda p: f"/persons/{p}",
         file_calls),
    Case("list of 50, community worker", "community_worker", lambda _: "/persons",
         list_calls({})),
    Case("list of 50, community worker, category 4", "community_worker",
         lambda _: "/persons?category=4", list_calls({"category": 4})),
    Case("list (whole grid), grid worker", "grid_worker", lambda _: "/persons", list_calls({})),
]


async def backend_counters(http: aiohttp.ClientSession, url: str) -> tuple[float, float]:
    """(calls, seconds) the console's gRPC histogram holds over every label."""
    async with http.get(url) as reply:
        text = await reply.text()
    calls = seconds = 0.0
    for name, _, value in SCALE.findall(text):
        if name.endswith("_count"):
            calls += float(value)
        else:
            seconds += float(value)
    return calls, seconds


async def measure(stack: devstack.Stack, workers: list[Worker], calls: int, seconds: float
                  ) -> list[tuple[Case, list[Sample], float, float, float]]:
    base = stack.console_url()
    rng = random.Random(SEED + 2)
    backends = Backends({s: stack.grpc_addr(s) for s in (REGISTRY, *CALLED)}, 30.0)
    await backends.start()
    results = []
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(connector=connector) as http:
        for worker in workers:
            await sign_in(http, base, worker, PASSWORD)
        console_pid = stack.procs["console"].pid
        for case in CASES:
            mine = [w for w in workers if w.role == case.role]

            def sample_one() -> tuple[Worker, str]:
                worker = rng.choice(mine)  # noqa: B023 - used within the iteration
                return worker, rng.choice(worker.persons)[0]

            for _ in range(20):  # warm-up: connections, caches, the templates compiled
                worker, person = sample_one()
                await page(http, base, worker, case.path(person))
                await case.direct(backends, worker, person)
            before_calls, before_s = await backend_counters(http, console_metrics_url(stack))
            cpu_before = cpu_s(console_pid)
            samples: list[Sample] = []
            deadline = time.perf_counter() + seconds
            for i in range(calls):
                if time.perf_counter() > deadline:
                    break
                worker, person = sample_one()
                if i % 2:
                    page_s, body = await page(http, base, worker, case.path(person))
                    grpc_s, rows = await case.direct(backends, worker, person)
                else:
                    grpc_s, rows = await case.direct(backends, worker, person)
                    page_s, body = await page(http, base, worker, case.path(person))
                samples.append(Sample(page_s, grpc_s, len(body),
                                      len(set(PERSON_LINK.findall(body.decode()))), rows,
                                      body.count(b'class="error-text"')))
            cpu = cpu_s(console_pid) - cpu_before
            after_calls, after_s = await backend_counters(http, console_metrics_url(stack))
            n = max(len(samples), 1)
            results.append((case, samples, (after_calls - before_calls) / n,
                            (after_s - before_s) / n, cpu / n))
            pages, direct = [s.page_s for s in samples], [s.grpc_s for s in samples]
            print(f"  {case.name:<42} page p50 {ms(percentile(pages, 50)):6.1f} p99 "
                  f"{ms(percentile(pages, 99)):6.1f} ms | gRPC p50 "
                  f"{ms(percentile(direct, 50)):6.1f} p99 {ms(percentile(direct, 99)):6.1f} ms"
                  f" | {len(samples)} samples", flush=True)
    await backends.stop()
    return results



async def tokens_for(stack: devstack.Stack, workers: list[Worker]) -> None:
    """Each worker's own token from the issuer, as the console gets it at sign-in."""
    for worker in workers:
        worker.token = await asyncio.to_thread(devstack.issuer_login, stack, worker.username,
                                               PASSWORD, 6 * 3600)


def bench(stack: devstack.Stack, persons: int, calls: int, seconds: float) -> list[Figure]:
    print(f"bulk-loading {persons:,} persons (COPY, as list_by_community.py)", flush=True)
    tree = bulk_load(superuser_url(stack), persons)
    workers = choose_workers(superuser_url(stack), tree.communities, random.Random(SEED))
    print(f"  {len(workers)} workers; persons each: community "
          f"~{sum(len(w.persons) for w in workers if w.role == 'community_worker') // WORKERS},"
          f" grid ~{sum(len(w.persons) for w in workers if w.role == 'grid_worker') // WORKERS}",
          flush=True)
    started: list[str] = []
    try:
        start_parts(stack, workers, PASSWORD, started)
        asyncio.run(tokens_for(stack, workers))
        wait_for_quiet(stack)
        results = asyncio.run(measure(stack, workers, calls, seconds))
    finally:
        stop_parts(stack, started)
    return report(results, persons)


def report(results: list[tuple[Case, list[Sample], float, float, float]], persons: int
           ) -> list[Figure]:
    rows, figures = [], []
    for case, samples, calls_per_page, backend_s, cpu in results:
        pages = [s.page_s for s in samples]
        direct = [s.grpc_s for s in samples]
        over = [s.overhead_s for s in samples]
        rows.append([case.name, f"{ms(percentile(pages, 50)):.1f}",
                     f"{ms(percentile(pages, 99)):.1f}", f"{ms(percentile(direct, 50)):.1f}",
                     f"{ms(percentile(direct, 99)):.1f}", f"{ms(percentile(over, 50)):.1f}",
                     f"{ms(percentile(over, 99)):.1f}", f"{calls_per_page:.1f}",
                     f"{ms(backend_s):.1f}", f"{ms(cpu):.1f}",
                     f"{sum(s.size for s in samples) / max(len(samples), 1) / 1024:.0f}",
                     _rows(samples), str(sum(s.errors for s in samples)),
                     str(len(samples))])
        figures += [Figure(f"console p50, {case.name}", "ms", ms(percentile(pages, 50)),
                           ms(percentile(direct, 50))),
                    Figure(f"console p99, {case.name}", "ms", ms(percentile(pages, 99)),
                           ms(percentile(direct, 99))),
                    Figure(f"console BFF overhead p50, {case.name}", "ms",
                           ms(percentile(over, 50)), None),
                    Figure(f"console BFF overhead p99, {case.name}", "ms",
                           ms(percentile(over, 99)), None)]
    print_table(["page", "page p50 ms", "page p99 ms", "gRPC p50 ms", "gRPC p99 ms",
                 "overhead p50 ms", "overhead p99 ms", "calls/page", "call ms/page (sum)",
                 "console CPU ms/page", "KB/page", "rows/page (page, gRPC)",
                 "sections not filled", "samples"], rows,
                f"Console pages, {persons:,} persons loaded (one caller; gRPC = the page's "
                "calls made straight; overhead = page - gRPC, per sample)")
    if REFUSED:
        print("Calls of the file's sections the services refused (the page shows the section "
              "empty or says why): " + ", ".join(f"{k} x{v}" for k, v in sorted(REFUSED.items())))
    return figures


def _rows(samples: list[Sample]) -> str:
    if not any(s.direct_rows for s in samples):
        return "-"
    n = max(len(samples), 1)
    return (f"{sum(s.rows for s in samples) / n:.0f}, "
            f"{sum(s.direct_rows for s in samples) / n:.0f}")


def run(stack: devstack.Stack | None = None, persons: int = PERSONS, calls: int = CALLS,
        seconds: float = SECONDS) -> list[Figure]:
    if stack is None:
        with running_stack() as own:
            return bench(own, persons, calls, seconds)
    return bench(stack, persons, calls, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=PERSONS, help="persons to bulk-load")
    parser.add_argument("--calls", type=int, default=CALLS, help="samples per case")
    parser.add_argument("--seconds", type=float, default=SECONDS,
                        help="at most this long per case (slow pages end a case early)")
    args = parser.parse_args()
    print_figures(run(persons=args.persons, calls=args.calls, seconds=args.seconds),
                  "Console pages")


if __name__ == "__main__":
    main()
