"""What the benchmarks share: the bench's own local stack, resident IDs, percentiles, CPU
accounting and tables.

The bench stack never collides with `make up` or the test session: its own state folder
(.local/bench), PostgreSQL on 55442, the broker on 19192 and the registry on 127.0.0.1:50151
(metrics :9201). Each run starts from an empty registry database.

Run with PYTHONPATH=services:scripts (the Makefile sets it).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import ClassVar

from kafka import KafkaConsumer, TopicPartition

import devstack
from cdsp.common.v1 import common_pb2
from cdsp.registry.v1 import registry_pb2 as pb
from registry.domain.resident_id import CHECK_CHARS, WEIGHTS
from runtime.kafka_clients import ensure_topics

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = "registry"
TOPIC = "cdsp.registry.v1"

# Area codes (first 6 digits of a resident ID) per use, so that no two benches ever produce the
# same resident ID in one database.
AREA_GRPC = 350502
AREA_PG = 350521
AREA_EVENT = 350503
AREA_BULK = 350583


def bench_stack() -> devstack.Stack:
    return devstack.Stack(state_dir=ROOT / ".local" / "bench", pg_port=55442, kafka_port=19192,
                          port_offset=100)


@contextlib.contextmanager
def running_stack(fresh: bool = True) -> Iterator[devstack.Stack]:
    """PostgreSQL, the broker and the registry process of the bench stack; stops, on the way
    out, whatever it started. `fresh`: drop the registry database first (an empty registry)."""
    stack = bench_stack()
    os.environ.update(stack.pii_env())  # rows the bench writes are sealed as the registry seals
    started: list[str] = []
    try:
        if not devstack.port_open(stack.pg_port):
            started.append("postgres")
        devstack.start_postgres(stack)
        if not devstack.port_open(stack.kafka_port):
            started.append("broker")
        devstack.start_broker(stack)
        _stop_leftover_registry(stack)
        if fresh:
            devstack.drop_service_database(stack, REGISTRY)
        started.append(REGISTRY)
        devstack.start_service(stack, REGISTRY)
        yield stack
    finally:
        if REGISTRY in started:
            devstack.stop_service(stack, REGISTRY)
        if "broker" in started:
            devstack.stop_broker(stack)
        if "postgres" in started:
            devstack.stop_postgres(stack)


def _stop_leftover_registry(stack: devstack.Stack) -> None:
    """A registry left running by an interrupted bench run (its pid file in our state folder,
    and that pid still a registry process) is stopped; a stale pid file is removed."""
    pidfile = stack.state_dir / f"{REGISTRY}.pid"
    if not pidfile.exists():
        return
    try:
        proc = Path(f"/proc/{int(pidfile.read_text())}")
        cmdline, environ = (proc / "cmdline").read_bytes(), (proc / "environ").read_bytes()
    except (OSError, ValueError):
        cmdline = environ = b""
    ours = f"CDSP_GRPC_ADDR={stack.grpc_addr(REGISTRY)}".encode()
    if b"registry.entrypoints.main" in cmdline and ours in environ.split(b"\0"):
        devstack.stop_service(stack, REGISTRY)
    else:
        pidfile.unlink(missing_ok=True)


def superuser_url(stack: devstack.Stack) -> str:
    """The superuser in the registry's database (bypasses row-level security: bulk loads)."""
    return stack.database_url("", superuser=True).rsplit("/", 1)[0] + "/cdsp_registry"


def token(role: str, scopes: list[str], subject: str = "bench-worker") -> str:
    return bench_stack().token(subject, role, scopes, ttl_s=6 * 3600)


# ---------------------------------------------------------------- resident IDs (GB 11643)

FIRST_BIRTH = date(1945, 1, 1)
BIRTH_DAYS = (date(2015, 12, 31) - FIRST_BIRTH).days + 1


class ResidentIds:
    """Distinct, valid resident IDs: the n-th has birth date FIRST_BIRTH + n mod BIRTH_DAYS (so
    ages spread over 10..80 years) and sequence n div BIRTH_DAYS, in area code `area`. Fast
    (bulk loads make half a million): the weighted digit sum of area + birth date is computed
    once per date."""

    _dates: ClassVar[list[tuple[str, int]]] = []  # (YYYYMMDD, weighted sum of its 8 digits)

    def __init__(self, area: int, start: int = 0) -> None:
        self.area = f"{area:06d}"
        self.area_sum = sum(int(d) * w for d, w in zip(self.area, WEIGHTS[:6], strict=True))
        self.n = start
        if not ResidentIds._dates:
            for day in range(BIRTH_DAYS):
                ymd = f"{FIRST_BIRTH + timedelta(days=day):%Y%m%d}"
                ResidentIds._dates.append(
                    (ymd, sum(int(d) * w for d, w in zip(ymd, WEIGHTS[6:14], strict=True))))

    def __iter__(self) -> ResidentIds:
        return self

    def __next__(self) -> str:
        n = self.n
        self.n += 1
        seq = n // BIRTH_DAYS + 1
        if seq > 999:
            raise StopIteration(f"area {self.area} exhausted")
        ymd, date_sum = ResidentIds._dates[n % BIRTH_DAYS]
        total = (self.area_sum + date_sum + 8 * (seq // 100) + 4 * (seq // 10 % 10)
                 + 2 * (seq % 10))
        return f"{self.area}{ymd}{seq:03d}{CHECK_CHARS[total % 11]}"


def person_message(resident_id: str, household_id: str, i: int) -> pb.Person:
    """A valid RegisterPerson payload (certified, with liaison and one need)."""
    return pb.Person(
        name=f"测试人员{i}", resident_id=resident_id, category=1 + i % 7,  # type: ignore[arg-type]
        grade=1 + i % 4, certified=True, household_id=household_id,
        phone=f"139{i % 100_000_000:08d}",
        preferred_channel=common_pb2.CONTACT_CHANNEL_PHONE_CALL,
        liaison=pb.Liaison(worker_id="bench-worker", name="联系员", phone="13800000000"),
        living_situation=pb.LIVING_SITUATION_WITH_FAMILY,
        needs=[pb.Need(code="rehabilitation", description="康复训练")])


# ---------------------------------------------------------------- small jurisdiction tree

BENCH_CITY = "3599"  # the registration benches' own city (the bulk load uses 3505)


def small_tree_paths() -> tuple[str, list[str]]:
    """(community path, grid codes) of the small tree the registration benches write into."""
    community = f"/{BENCH_CITY}/359901/359901001/359901001001/"
    return community, [f"359901001001-{g:02d}" for g in range(1, 6)]


async def ensure_small_tree(addr: str, households: int) -> tuple[str, list[str]]:
    """Creates (through gRPC, as a city admin) a city → district → street → community → 5 grids
    and `households` households spread over the grids; returns (community path, household ids).
    """
    import grpc

    from cdsp.registry.v1 import registry_pb2_grpc
    from runtime.grpc_client import aio_channel

    levels = [(BENCH_CITY, pb.JURISDICTION_LEVEL_CITY, ""),
              ("359901", pb.JURISDICTION_LEVEL_DISTRICT, BENCH_CITY),
              ("359901001", pb.JURISDICTION_LEVEL_STREET, "359901"),
              ("359901001001", pb.JURISDICTION_LEVEL_COMMUNITY, "359901001")]
    community, grids = small_tree_paths()
    levels += [(g, pb.JURISDICTION_LEVEL_GRID, "359901001001") for g in grids]
    admin = token("city_admin", [f"/{BENCH_CITY}/"], "bench-admin")
    async with aio_channel(addr, admin) as channel:
        stub = registry_pb2_grpc.RegistryServiceStub(channel)
        for code, level, parent in levels:
            try:
                await stub.CreateJurisdiction(pb.CreateJurisdictionRequest(
                    code=code, name=f"基准{code}", level=level, parent_code=parent,
                    minimum_living_standard_fen=90_000 if not parent else 0), timeout=10)
            except grpc.aio.AioRpcError as exc:
                if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
                    raise
        ids = []
        for i in range(households):
            h = await stub.CreateHousehold(pb.CreateHouseholdRequest(
                grid_code=grids[i % len(grids)], address=f"基准路{i + 1}号",
                monthly_income_fen=150_000 + 1_000 * i), timeout=10)
            ids.append(h.household_id)
    return community, ids


# ---------------------------------------------------------------- figures

def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of the values; nan when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(p / 100 * len(ordered))))
    return ordered[rank - 1]


def ms(seconds: float) -> float:
    return seconds * 1000.0


@dataclass
class Figure:
    """One line of the summary: a measured value, its ceiling and the target."""

    name: str
    unit: str
    measured: float
    ceiling: float | None
    target: float | None = None
    higher_is_better: bool = False

    @property
    def ratio(self) -> float | None:
        if self.ceiling is None or self.ceiling == 0:
            return None
        return self.measured / self.ceiling

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        if self.higher_is_better:
            return self.measured >= self.target
        return self.measured < self.target

    def row(self) -> list[str]:
        def num(v: float | None) -> str:
            if v is None:
                return "-"
            return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}"

        target = "-" if self.target is None else (
            f"{'>=' if self.higher_is_better else '<'} {num(self.target)}")
        return [self.name, f"{num(self.measured)} {self.unit}",
                "-" if self.ceiling is None else f"{num(self.ceiling)} {self.unit}",
                "-" if self.ratio is None else f"{self.ratio:.2f}x", target,
                {None: "-", True: "yes", False: "NO"}[self.met]]


SUMMARY_HEADERS = ["figure", "measured", "ceiling", "ratio (measured/ceiling)", "target", "met?"]


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], title: str = "") -> None:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=False)]
    if title:
        print(f"\n{title}")
    line = "  ".join("-" * w for w in widths)
    print("  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)))
    print(line)
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)))
    print(flush=True)


def print_figures(figures: Sequence[Figure], title: str) -> None:
    print_table(SUMMARY_HEADERS, [f.row() for f in figures], title)


# ---------------------------------------------------------------- CPU accounting

_TICK = os.sysconf("SC_CLK_TCK")


def _proc_stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()  # fields from 3 (state) on


def _cpu_s(pid: int, children: bool = False) -> float:
    f = _proc_stat(pid)
    if f is None:
        return 0.0
    ticks = int(f[11]) + int(f[12])  # utime, stime (fields 14, 15)
    if children:
        ticks += int(f[13]) + int(f[14])  # cutime, cstime: reaped children (ended backends)
    return ticks / _TICK


def _children(ppid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            f = _proc_stat(int(entry))
            if f is not None and int(f[1]) == ppid:
                found.append(int(entry))
    return found


class CpuMeter:
    """CPU seconds used by each part of the stack (and this bench process) between two reads."""

    def __init__(self, stack: devstack.Stack) -> None:
        pidfile = stack.pg_data / "postmaster.pid"
        self.postmaster = int(pidfile.read_text().split()[0]) if pidfile.exists() else 0
        self.pids = {name: self._pid(stack, name) for name in (REGISTRY, "broker")}

    @staticmethod
    def _pid(stack: devstack.Stack, name: str) -> int:
        proc = stack.procs.get(name)
        if proc is not None:
            return proc.pid
        pidfile = stack.state_dir / f"{name}.pid"
        return int(pidfile.read_text()) if pidfile.exists() else 0

    def read(self) -> dict[str, float]:
        postgres = 0.0
        if self.postmaster:
            postgres = _cpu_s(self.postmaster, children=True) + sum(
                _cpu_s(pid) for pid in _children(self.postmaster))
        times = os.times()
        parts = {"bench client": times.user + times.system,
                 "registry": _cpu_s(self.pids[REGISTRY]) if self.pids[REGISTRY] else 0.0,
                 "postgres": postgres,
                 "broker": _cpu_s(self.pids["broker"]) if self.pids["broker"] else 0.0}
        # Everything else on the machine (other people's tests, ...): busy time of all CPUs
        # from /proc/stat minus the parts above.
        cpu = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        busy = sum(int(v) for i, v in enumerate(cpu[:8]) if i not in (3, 4)) / _TICK
        parts["other processes"] = busy - sum(parts.values())
        parts["wall"] = time.perf_counter()
        return parts

    @staticmethod
    def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        return {k: after[k] - before[k] for k in before}


def cpu_line(delta: dict[str, float], per: int, what: str) -> str:
    """CPU use of each part as cores busy and ms per operation."""
    wall = delta["wall"] or 1.0
    parts = [f"{k} {delta[k] / wall:.2f} cores ({1000 * delta[k] / max(per, 1):.2f} ms/{what})"
             for k in delta if k != "wall"]
    return "    CPU: " + ", ".join(parts)


def wait_for_quiet(stack: devstack.Stack, max_cores: float = 0.3, max_wait: float = 45.0
                   ) -> float:
    """Waits (up to max_wait seconds) until processes outside the bench stack use less than
    `max_cores` of CPU (other people's test runs share this machine); returns the last reading."""
    meter = CpuMeter(stack)
    deadline = time.monotonic() + max_wait
    while True:
        before = meter.read()
        time.sleep(2.0)
        used = CpuMeter.delta(before, meter.read())
        other = used["other processes"] / used["wall"]
        if other < max_cores or time.monotonic() > deadline:
            note = "" if other < max_cores else " (not quiet: figures may be lower than usual)"
            print(f"background load from other processes: {other:.2f} cores{note}", flush=True)
            return other
        print(f"waiting for a quieter machine: other processes use {other:.2f} cores", flush=True)


async def outbox_drained(url: str, timeout: float = 120.0) -> int:
    """Waits until the relay has published everything in the outbox; returns what is left."""
    import asyncio

    import psycopg

    deadline = time.monotonic() + timeout
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        while True:
            row = await (await conn.execute(
                "SELECT count(*) FROM outbox WHERE published_at IS NULL")).fetchone()
            left = int(row[0]) if row else 0
            if left == 0 or time.monotonic() > deadline:
                return left
            await asyncio.sleep(0.25)


def skip_history(bootstrap: str, groups: Sequence[tuple[str, str]], partitions: int = 6) -> None:
    """Commits the current end of each topic as the position of each (group, topic) of a
    service that is not running yet (no member holds the groups): what earlier benches
    published is not this bench's work, and would run during its measurement."""
    ensure_topics(bootstrap, sorted({topic for _, topic in groups}), partitions, 1)
    for group, topic in groups:
        consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), group_id=group,
                                 enable_auto_commit=False, client_id="bench-skip-history")
        try:
            tps = [TopicPartition(topic, p)
                   for p in sorted(consumer.partitions_for_topic(topic) or set())]
            consumer.assign(tps)
            consumer.seek_to_end()
            ends = {tp: consumer.position(tp) for tp in tps}
            consumer.commit()
            committed = {tp: consumer.committed(tp) for tp in tps}
        finally:
            consumer.close(autocommit=False)
        if committed != ends:
            raise RuntimeError(f"could not move group {group} to the end of {topic}: "
                               f"{committed} != {ends}")
