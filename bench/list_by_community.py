"""ListPersons latency for one community with 500,000 persons in the registry, next to the
ceiling: the same SQL straight in PostgreSQL with the same SET LOCAL cdsp.scope.

    PYTHONPATH=services:scripts .venv/bin/python bench/list_by_community.py [--persons 500000]

Load: a city of 8 districts × 12 streets × 26 communities (2,496) × 5 grids, with about 200
persons per community (spread normally, σ 30%) in households of one or two, bulk-loaded with COPY
as the superuser (row-level security does not apply to it), then VACUUM ANALYZE and CHECKPOINT
so that neither autovacuum nor a checkpoint lands in the middle of the measurement.

Calls, one at a time, each for a random community with a community_worker token scoped to it:
ListPersons(jurisdiction_path=<community>, page_size=50), the whole community (page_size=500),
and ListPersons with no jurisdiction_path (the caller's own jurisdictions, as a client most
naturally asks). The ceiling runs the SQL the registry's store builds for the same filter, as
the registry's role, after the same set_config('cdsp.scope', ..., true).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import itertools
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from common import (
    AREA_BULK,
    REGISTRY,
    Figure,
    ResidentIds,
    ms,
    percentile,
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
from registry.adapters import person_queries, person_store
from runtime import pii
from runtime.grpc_client import aio_channel
from runtime.pii import aad

CITY = "3505"
DISTRICTS, STREETS, COMMUNITIES, GRIDS = 8, 12, 26, 5
PERSONS = 500_000
CALLS = 500
SECONDS = 30.0  # a case stops early when its calls are this slow
TARGET_P99_MS = 20.0
SEED = 20240601

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国建华志强淑珍玉兰德明"
# GB/T 26341 categories 1..7, weighted as in the national sample survey (physical most common).
CATEGORY_WEIGHTS = (13, 10, 1, 50, 8, 10, 8)
GRADE_WEIGHTS = (10, 20, 30, 40)
NEEDS = ("rehabilitation", "assistive_device", "employment", "care", "relief")
NEED_TEXT = {"rehabilitation": "康复训练", "assistive_device": "辅助器具", "employment": "就业帮扶",
             "care": "托养照护", "relief": "生活救助"}


@dataclass
class Tree:
    rows: list[tuple[str, str, int, str | None, str, int]]  # jurisdictions, parents first
    communities: list[str]  # community paths
    grids: dict[str, list[tuple[str, str]]]  # community path → [(grid code, grid path)]


def jurisdiction_tree() -> Tree:
    rows: list[tuple[str, str, int, str | None, str, int]] = [
        (CITY, "示范市", 1, None, f"/{CITY}/", 93_000)]
    communities: list[str] = []
    grids: dict[str, list[tuple[str, str]]] = {}
    for d in range(1, DISTRICTS + 1):
        dc = f"{CITY}{d:02d}"
        dp = f"/{CITY}/{dc}/"
        rows.append((dc, f"第{d}区", 2, CITY, dp, 0))
        for s in range(1, STREETS + 1):
            sc = f"{dc}{s:03d}"
            sp = f"{dp}{sc}/"
            rows.append((sc, f"第{d}区第{s}街道", 3, dc, sp, 0))
            for c in range(1, COMMUNITIES + 1):
                cc = f"{sc}{c:03d}"
                cp = f"{sp}{cc}/"
                rows.append((cc, f"第{s}街道第{c}社区", 4, sc, cp, 0))
                communities.append(cp)
                grids[cp] = []
                for g in range(1, GRIDS + 1):
                    gc = f"{cc}-{g:02d}"
                    rows.append((gc, f"第{c}社区第{g}网格", 5, cc, f"{cp}{gc}/", 0))
                    grids[cp].append((gc, f"{cp}{gc}/"))
    return Tree(rows, communities, grids)


def community_sizes(rng: random.Random, communities: int, persons: int) -> list[int]:
    """About persons/communities each (normal, σ 30%, at least 20), summing to `persons`."""
    mean = persons / communities
    raw = [max(20.0, rng.gauss(mean, 0.3 * mean)) for _ in range(communities)]
    scale = persons / sum(raw)
    sizes = [max(1, int(r * scale)) for r in raw]
    for i in range(persons - sum(sizes)):
        sizes[i % communities] += 1
    return sizes


def _json(d: dict[str, str]) -> str:
    # Text COPY: no tab, newline or backslash can occur in these values.
    return "{" + ",".join(f'"{k}":"{v}"' for k, v in d.items()) + "}"


@dataclass
class Plan:
    """Who lives where: households (id, grid code, grid path, members) per community."""

    households: list[tuple[str, str, str, int]]
    persons: int


def plan_city(tree: Tree, persons: int, rng: random.Random) -> Plan:
    sizes = community_sizes(rng, len(tree.communities), persons)
    households = []
    for cpath, size in zip(tree.communities, sizes, strict=True):
        grids = tree.grids[cpath]
        left = size
        while left > 0:
            members = 2 if left >= 2 and rng.random() < 0.15 else 1
            left -= members
            gcode, gpath = grids[int(rng.random() * len(grids))]
            households.append((f"{rng.getrandbits(128):032x}", gcode, gpath, members))
    return Plan(households, persons)


def household_rows(plan: Plan, rng: random.Random) -> Iterator[bytes]:
    lines = []
    for hid, gcode, gpath, _ in plan.households:
        lines.append(f"{hid}\t{gcode}\t{gpath}\t{gpath[1:5]}市某路{int(rng.random() * 999) + 1}号"
                     f"\t{int(rng.random() * 800_000)}\n")
        if len(lines) >= 20_000:
            yield "".join(lines).encode()
            lines = []
    yield "".join(lines).encode()


def person_rows(plan: Plan, rng: random.Random) -> Iterator[bytes]:
    """COPY text for the persons of `plan`, in chunks of about 1 MB."""
    rnd = rng.random
    now = datetime.now(UTC)
    this_year, today_md = now.year, f"{now:%m%d}"
    verified_at = [(now - timedelta(minutes=m)).isoformat() for m in range(0, 60 * 1440, 7)]
    category_cum = list(itertools.accumulate(CATEGORY_WEIGHTS))
    grade_cum = list(itertools.accumulate(GRADE_WEIGHTS))
    names = [s + g for s in SURNAMES for g in GIVEN]
    guardian_names = [s + g for s in SURNAMES for g in GIVEN]
    relations = ("父母", "子女", "配偶")
    ids = ResidentIds(AREA_BULK)
    keys = pii.keys()
    liaisons: list[str] = []
    chunk: list[str] = []
    size = 0
    for hid, gcode, gpath, members in plan.households:
        if gcode.endswith("-01") or not liaisons:  # four liaisons per community
            community = gcode[:-3]
            liaisons = [_json({"worker_id": f"w-{community}-{k}", "name": f"联系员{k}",
                               "phone": f"138{int(rnd() * 1e8):08d}"}) for k in range(4)]
        for _ in range(members):
            rid = next(ids)
            year = int(rid[6:10])
            age = this_year - year - (rid[10:14] > today_md)
            category = bisect.bisect(category_cum, rnd() * category_cum[-1]) + 1
            grade = bisect.bisect(grade_cum, rnd() * grade_cum[-1]) + 1
            phone = f"13{int(rnd() * 1e9):09d}" if rnd() < 0.7 else ""
            guardian = "\\N"
            if age < 18 or rnd() < 0.3:
                guardian = _json({"name": guardian_names[int(rnd() * len(guardian_names))],
                                  "phone": f"139{int(rnd() * 1e8):08d}",
                                  "relation": relations[int(rnd() * 3)]})
            channel = int(rnd() * 5) + 1 if phone or guardian != "\\N" else 5
            roll = rnd()
            living = 1 if roll < 0.15 else (3 if roll < 0.2 else 2)
            groups = []
            if age < 18:
                groups.append("disabled_children")
            if age >= 60 and living == 1:
                groups.append("elderly_living_alone")
            if category == 7:
                groups.append("multiple_disabilities")
            if rnd() < 0.03:
                groups.append("seriously_ill")
            roll = rnd()
            needs = () if roll < 0.3 else NEEDS_ONE[int(rnd() * 5)] if roll < 0.8 else (
                NEEDS_TWO[int(rnd() * len(NEEDS_TWO))])
            archived = rnd() < 0.03
            verified = verified_at[int(rnd() * len(verified_at))]
            person_id = str(uuid.UUID(int=rng.getrandbits(128)))
            chunk.append("\t".join((
                person_id, hid, gpath, names[int(rnd() * len(names))],
                _bytea(keys.seal(rid, aad(person_store.RESIDENT_ID, person_id))),
                _bytea(keys.index(person_store.RESIDENT_ID, rid)),
                "1" if int(rid[16]) % 2 else "2", f"{rid[6:10]}-{rid[10:12]}-{rid[12:14]}",
                str(category), str(grade), "t",
                _bytea(keys.seal(f"{rid}{category}{grade}",
                                 aad(person_store.CERTIFICATE, person_id))),
                phone, str(channel),
                guardian, liaisons[int(rnd() * 4)], str(living), "{" + ",".join(groups) + "}",
                NEEDS_JSON[needs], "{" + ",".join(needs) + "}", "2" if archived else "1",
                ("1" if rnd() < 0.5 else "2") if archived else "0",
                verified if archived else "\\N", verified, "1")))
            size += 1
            if size % 5000 == 0:
                yield ("\n".join(chunk) + "\n").encode()
                chunk = []
    if chunk:
        yield ("\n".join(chunk) + "\n").encode()


def _bytea(value: bytes) -> str:
    """bytea in COPY's text format (its backslash escaped)."""
    return "\\\\x" + value.hex()


NEEDS_ONE = [(n,) for n in NEEDS]
NEEDS_TWO = list(itertools.combinations(NEEDS, 2))
NEEDS_JSON = {needs: "[" + ",".join(_json({"code": n, "description": NEED_TEXT[n]})
                                   for n in needs) + "]"
              for needs in [(), *NEEDS_ONE, *NEEDS_TWO]}


PERSON_COLUMNS = ("person_id, household_id, jurisdiction_path, name, resident_id_sealed, "
                  "resident_id_index, sex, birth_date, category, grade, certified, "
                  "certificate_sealed, phone, "
                  "preferred_channel, guardian, liaison, living_situation, priority_groups, "
                  "needs, need_codes, status, archive_reason, archived_at, last_verified_at, "
                  "version")


def bulk_load(url: str, persons: int) -> Tree:
    """Loads the city unless it is already there; returns the tree either way."""
    tree = jurisdiction_tree()
    with psycopg.connect(url, autocommit=True) as conn:
        have = conn.execute("SELECT count(*) FROM persons WHERE jurisdiction_path LIKE %s",
                            [f"/{CITY}/%"]).fetchone()
        if have and have[0] >= persons:
            print(f"  {have[0]:,} persons of /{CITY}/ already loaded", flush=True)
            return tree
        t0 = time.perf_counter()
        conn.execute("SET maintenance_work_mem = '256MB'")
        conn.execute("SET synchronous_commit = off")
        with conn.transaction():
            with conn.cursor().copy("COPY jurisdictions (code, name, level, parent_code, path, "
                                    "minimum_living_standard_fen) FROM STDIN") as copy:
                for row in tree.rows:
                    copy.write_row(row)
            rng = random.Random(SEED)
            plan = plan_city(tree, persons, rng)
            with conn.cursor().copy("COPY households (household_id, grid_code, "
                                    "jurisdiction_path, address, monthly_income_fen) "
                                    "FROM STDIN") as copy:
                for chunk in household_rows(plan, rng):
                    copy.write(chunk)
            t1 = time.perf_counter()
            # Streamed: PostgreSQL inserts one chunk while the next one is generated.
            with conn.cursor().copy(f"COPY persons ({PERSON_COLUMNS}) FROM STDIN") as copy:
                for chunk in person_rows(plan, rng):
                    copy.write(chunk)
        t2 = time.perf_counter()
        for table in ("jurisdictions", "households", "persons"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
        conn.execute("CHECKPOINT")
        t3 = time.perf_counter()
        print(f"  loaded {len(tree.rows):,} jurisdictions ({len(tree.communities):,} "
              f"communities), {len(plan.households):,} households and {plan.persons:,} "
              f"persons: households {t1 - t0:.0f} s, persons {t2 - t1:.0f} s, "
              f"VACUUM ANALYZE + CHECKPOINT {t3 - t2:.0f} s", flush=True)
    return tree


# ---------------------------------------------------------------- measuring

def list_sql(path: str, limit: int) -> tuple[str, list[Any]]:
    """The SQL person_queries.list_persons runs for this filter (first page)."""
    where, params = person_queries._where(person_queries.PersonFilter(paths=[path]))
    return (f"SELECT {person_store._P} {person_store._FROM} WHERE {where} "
            "ORDER BY p.person_id LIMIT %s", [*params, limit])


async def grpc_calls(addr: str, communities: list[str], page_size: int, explicit_path: bool,
                     seconds: float = 600.0) -> tuple[list[float], int]:
    tokens = {c: token("community_worker", [c]) for c in set(communities)}
    current = {"token": ""}
    latencies: list[float] = []
    rows = 0
    deadline = time.perf_counter() + seconds
    async with aio_channel(addr, lambda: current["token"]) as channel:
        stub = registry_pb2_grpc.RegistryServiceStub(channel)
        for c in communities:
            if time.perf_counter() > deadline:
                break
            current["token"] = tokens[c]
            request = pb.ListPersonsRequest(jurisdiction_path=c if explicit_path else "",
                                            page_size=page_size)
            t0 = time.perf_counter()
            reply = await stub.ListPersons(request, timeout=30)
            latencies.append(time.perf_counter() - t0)
            rows += len(reply.persons)
    return latencies, rows


async def sql_calls(url: str, communities: list[str], page_size: int, explicit_path: bool,
                    seconds: float = 600.0) -> tuple[list[float], int]:
    latencies: list[float] = []
    rows = 0
    deadline = time.perf_counter() + seconds
    async with await psycopg.AsyncConnection.connect(url) as conn:
        for c in communities:
            if time.perf_counter() > deadline:
                break
            # page_size + 1: the service fetches one row more to learn whether a next page exists
            sql, params = list_sql(c, page_size + 1)  # the service uses the scope either way
            t0 = time.perf_counter()
            await conn.execute("SELECT set_config('cdsp.scope', %s, true), "
                               "set_config('cdsp.actor', %s, true)", [c + "%", "bench-worker"])
            found = await (await conn.execute(sql, params)).fetchall()
            await conn.commit()
            latencies.append(time.perf_counter() - t0)
            rows += len(found)
    return latencies, rows


def explain(url: str, community: str, explicit_path: bool, page_size: int) -> list[str]:
    sql, params = list_sql(community, page_size)
    with psycopg.connect(url) as conn:
        conn.execute("SELECT set_config('cdsp.scope', %s, true)", [community + "%"])
        plan = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params).fetchall()
        conn.rollback()
    return [r[0] for r in plan]


async def bench(stack: devstack.Stack, persons: int, calls: int, seconds: float
                ) -> list[Figure]:
    addr = stack.grpc_addr(REGISTRY)
    print(f"bulk-loading {persons:,} persons (COPY)", flush=True)
    tree = await asyncio.to_thread(bulk_load, superuser_url(stack), persons)
    rng = random.Random(SEED + 1)
    service_url = stack.database_url(REGISTRY)
    # (name, page size, jurisdiction_path given, calls, at most seconds per side)
    cases = [("page_size 50", 50, True, calls, seconds),
             ("whole community", 500, True, calls, seconds),
             ("page_size 50, no path", 50, False, max(50, calls // 5), seconds / 2)]
    await asyncio.to_thread(wait_for_quiet, stack)
    results = []
    for name, size, explicit, n, limit in cases:
        sample = [rng.choice(tree.communities) for _ in range(n)]
        warm = [rng.choice(tree.communities) for _ in range(10)]
        await grpc_calls(addr, warm, size, explicit)
        await sql_calls(service_url, warm, size, explicit)
        g, g_rows = await grpc_calls(addr, sample, size, explicit, limit)
        s, s_rows = await sql_calls(service_url, sample, size, explicit, limit)
        results.append((name, g, s, g_rows / max(len(g), 1), s_rows / max(len(s), 1)))
        print(f"  {name:<22} gRPC p50 {ms(percentile(g, 50)):6.2f} p99 {ms(percentile(g, 99)):6.2f}"
              f" ms ({len(g)} calls) | SQL p50 {ms(percentile(s, 50)):6.2f} "
              f"p99 {ms(percentile(s, 99)):6.2f} ms ({len(s)} calls) | persons/reply "
              f"{g_rows / max(len(g), 1):.0f}", flush=True)
    print_table(["ListPersons", "gRPC p50 ms", "gRPC p99 ms", "SQL p50 ms", "SQL p99 ms",
                 "persons/reply", "calls"],
                [[name, f"{ms(percentile(g, 50)):.2f}", f"{ms(percentile(g, 99)):.2f}",
                  f"{ms(percentile(s, 50)):.2f}", f"{ms(percentile(s, 99)):.2f}", f"{rows:.0f}",
                  str(len(g))] for name, g, s, rows, _ in results],
                f"List by community, {persons:,} persons loaded (one caller)")
    sample_community = tree.communities[len(tree.communities) // 2]
    for explicit in (True, False):
        print(f"EXPLAIN ANALYZE, community {sample_community}, "
              f"{'jurisdiction_path = community' if explicit else 'no jurisdiction_path'}:")
        for line in explain(service_url, sample_community, explicit, 50):
            print("    " + line)
    figures = []
    for name, g, s, _, _ in results:
        figures.append(Figure(f"list p50, {name}", "ms", ms(percentile(g, 50)),
                              ms(percentile(s, 50))))
        figures.append(Figure(f"list p99, {name}", "ms", ms(percentile(g, 99)),
                              ms(percentile(s, 99)), TARGET_P99_MS))
    return figures


def run(stack: devstack.Stack | None = None, persons: int = PERSONS, calls: int = CALLS,
        seconds: float = SECONDS) -> list[Figure]:
    if stack is None:
        with running_stack() as own:
            return asyncio.run(bench(own, persons, calls, seconds))
    return asyncio.run(bench(stack, persons, calls, seconds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=PERSONS, help="persons to bulk-load")
    parser.add_argument("--calls", type=int, default=CALLS, help="calls per case")
    parser.add_argument("--seconds", type=float, default=SECONDS,
                        help="at most this long per case and side (slow calls end a case early)")
    args = parser.parse_args()
    print_figures(run(persons=args.persons, calls=args.calls, seconds=args.seconds),
                  "List by community")


if __name__ == "__main__":
    main()
