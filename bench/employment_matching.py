"""Employment matching: MatchCandidates for a post among 100,000 candidates, and MatchPosts for
a candidate among 2,000 open posts, through gRPC, next to the SQL alone.

    PYTHONPATH=services:scripts .venv/bin/python bench/employment_matching.py [--candidates N]
                                                                    [--calls 200] [--posts 2000]

Fixture: the employment service runs on the bench stack, its database emptied first and its
registry consumer moved past what other benches left on cdsp.registry.v1. Into its database,
as the service's own role (row-level security applies; COPY into a staging table, then one
INSERT … SELECT under the city's scope): N candidates of one city (4 districts × 6 streets × 8
communities × 5 grids), with the categories and grades of the national survey, ages 14-75, an
employment need for 40% of working age, 45% of those assessed on the seven indicators (scores
lower for more severe grades, the total and the track from the service's own rules), 10% of
the assessed placed full time, 2% archived; 80 partner employers and 2,000 posts of every kind,
track and requirement (filed at grids, communities, streets, districts; 8% remote).

Calls, one at a time, as a city admin: MatchCandidates (limit 20) for four posts made through
CreatePost: two of a street (a few thousand candidates in the catchment) and two city-wide
(a remote post, and one filed at the city: every candidate passes through the hard
requirements). Target: p99 under 100 ms. The ceiling is the SQL the service runs, alone:
planning + execution time reported by EXPLAIN ANALYZE, as the service's role, same scope.
Then MatchPosts (limit 20) for 50 assessed candidates in turn, with its SQL alone likewise.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import itertools
import random
import re
import time
import uuid
from datetime import date, timedelta
from typing import Any

import psycopg
from common import (
    Figure,
    ms,
    percentile,
    print_figures,
    print_table,
    running_stack,
    skip_history,
    token,
    wait_for_quiet,
)

import devstack
from cdsp.employment.v1 import employment_pb2 as pb
from cdsp.employment.v1 import employment_pb2_grpc
from employment.adapters import post_store
from employment.adapters.candidate_store import COLUMNS, CandidateRow
from employment.domain import matching
from employment.domain.assessment import Person, default_rules, default_scale
from employment.service.jobs import _subtrees
from runtime.auth import Caller
from runtime.grpc_client import aio_channel

EMPLOYMENT = "employment"
GROUP, REGISTRY_TOPIC = "employment-registry-projection", "cdsp.registry.v1"
CITY = "3509"
DISTRICTS, STREETS, COMMUNITIES, GRIDS = 4, 6, 8, 5
CANDIDATES, CALLS, POSTS, EMPLOYERS = 100_000, 200, 2_000, 80
TARGET_P99_MS = 100.0
SEED = 20240615
CATEGORY_WEIGHTS = (13, 10, 1, 50, 8, 10, 8)   # visual … multiple, as the national survey
GRADE_WEIGHTS = (10, 20, 30, 40)               # grade 1 (most severe) … 4
CANDIDATE_COLUMNS = ("person_id, household_id, jurisdiction_path, category, grade, birth_date, "
                     "wants_work, archived, version, track, total_score, scores, assessed, "
                     "placed_full_time")
ADMIN = Caller("bench-admin", "city_admin", (f"/{CITY}/",))


def city() -> tuple[list[str], list[str], list[str]]:
    """(street paths, community paths, grid paths) of the bench city."""
    streets, communities, grids = [], [], []
    for d in range(1, DISTRICTS + 1):
        dc = f"{CITY}{d:02d}"
        for s in range(1, STREETS + 1):
            sc = f"{dc}{s:03d}"
            streets.append(f"/{CITY}/{dc}/{sc}/")
            for c in range(1, COMMUNITIES + 1):
                cc = f"{sc}{c:03d}"
                communities.append(f"{streets[-1]}{cc}/")
                grids += [f"{communities[-1]}{cc}-{g:02d}/" for g in range(1, GRIDS + 1)]
    return streets, communities, grids


def candidate_lines(n: int, grids: list[str], today: date, rng: random.Random) -> list[str]:
    """COPY text rows of n candidates (see the module's docstring)."""
    scale, rules = default_scale(), default_rules()
    categories = list(itertools.accumulate(CATEGORY_WEIGHTS))
    grades = list(itertools.accumulate(GRADE_WEIGHTS))
    lines = []
    for _ in range(n):
        category = bisect.bisect(categories, rng.random() * categories[-1]) + 1
        grade = bisect.bisect(grades, rng.random() * grades[-1]) + 1
        age_days = rng.randrange(14 * 365, 76 * 365)
        born = today - timedelta(days=age_days)
        working = 16 <= age_days // 365 <= 59
        wants = rng.random() < (0.4 if working else 0.05)
        assessed = working and rng.random() < (0.45 if wants else 0.1)
        track = total = 0
        given: list[int] = []
        placed = False
        if assessed:
            mean = 1.5 + 0.5 * grade
            given = [max(0, min(i.scale, round(rng.gauss(mean, 1.1)))) for i in scale.indicators]
            scores = dict(zip(scale.names, given, strict=True))
            total = scale.total(scores)
            track = rules.recommend(Person(category, grade, age_days // 365), scores,
                                    total).track
            placed = rng.random() < 0.1
        lines.append("\t".join((
            str(uuid.UUID(int=rng.getrandbits(128))), str(uuid.UUID(int=rng.getrandbits(128))),
            grids[rng.randrange(len(grids))], str(category), str(grade), born.isoformat(),
            "t" if wants else "f", "t" if rng.random() < 0.02 else "f", "1", str(track),
            str(total), "{" + ",".join(map(str, given)) + "}", "t" if assessed else "f",
            "t" if placed else "f")) + "\n")
    return lines


def post_rows(n: int, employers: list[str], rng: random.Random) -> list[tuple[Any, ...]]:
    streets, communities, grids = city()
    districts = sorted({matching.prefix(s, 2) for s in streets})
    scale = default_scale()
    rows = []
    for i in range(n):
        kind = rng.choices((1, 2, 3, 4), (40, 30, 15, 15))[0]
        path = rng.choices((grids, communities, streets, districts), (50, 35, 10, 5))[0]
        minimums = [0] * len(scale.indicators)
        if rng.random() < 0.3:
            for k in rng.sample(range(len(minimums)), rng.randint(1, 2)):
                minimums[k] = rng.randint(2, 3)
        rows.append((str(uuid.UUID(int=rng.getrandbits(128))), kind,
                     rng.choice(employers) if kind == 2 else None, f"岗位{i}",
                     rng.choice(path), rng.choice((0, 0, 1, 2, 3, 4)), rng.randint(1, 10),
                     rng.random() < 0.3, kind == 3 or rng.random() < 0.08, rng.random() < 0.6,
                     [] if rng.random() < 0.5 else sorted(rng.sample(range(1, 8),
                                                                    rng.randint(1, 3))),
                     rng.choice((1, 1, 1, 2, 3)), minimums if any(minimums) else [],
                     rng.randrange(200_000, 600_000, 1_000), "bench"))
    return rows


def load(url: str, candidates: int, posts: int) -> list[str]:
    """The fixture, as the service's role; returns the employer ids."""
    rng = random.Random(SEED)
    today = date.today()
    _, communities, grids = city()
    t0 = time.perf_counter()
    lines = candidate_lines(candidates, grids, today, rng)
    employers = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(EMPLOYERS)]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE stage (LIKE candidates INCLUDING DEFAULTS)")
        with conn.cursor().copy(f"COPY stage ({CANDIDATE_COLUMNS}) FROM STDIN") as copy:
            for i in range(0, len(lines), 5000):
                copy.write("".join(lines[i:i + 5000]))
        t1 = time.perf_counter()
        with conn.transaction():
            conn.execute("SELECT set_config('cdsp.scope', %s, true)", [f"/{CITY}/%"])
            conn.execute(f"INSERT INTO candidates ({CANDIDATE_COLUMNS}) SELECT "
                         f"{CANDIDATE_COLUMNS} FROM stage")
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO employers (employer_id, name, jurisdiction_path, "
                    "monthly_subsidy_fen, agreement_start, created_by) VALUES "
                    "(%s, %s, %s, 200000, %s, 'bench')",
                    [(e, f"合作企业{k}", communities[k * 7 % len(communities)], today)
                     for k, e in enumerate(employers)])
                cur.executemany(
                    "INSERT INTO posts (post_id, kind, employer_id, title, jurisdiction_path, "
                    "track, openings, staggered_hours, remote, full_time, suitable_categories, "
                    "min_grade, minimum_scores, monthly_wage_fen, created_by) VALUES (%s, %s, %s,"
                    " %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    post_rows(posts, employers, rng))
        t2 = time.perf_counter()
        for table in ("candidates", "employers", "posts"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
    print(f"  {candidates:,} candidates, {EMPLOYERS} employers, {posts:,} posts: generated and "
          f"copied {t1 - t0:.1f} s, inserted {t2 - t1:.1f} s, VACUUM ANALYZE "
          f"{time.perf_counter() - t2:.1f} s", flush=True)
    return employers


# ---------------------------------------------------------------- measuring

def cases(employer: str) -> list[tuple[str, pb.CreatePostRequest]]:
    _, communities, grids = city()
    return [
        ("street: enterprise post in a grid", pb.CreatePostRequest(
            kind=pb.POST_KIND_ENTERPRISE, employer_id=employer, title="数据标注员",
            jurisdiction_path=grids[7], track=1, openings=3, full_time=True,
            suitable_categories=[4, 1, 2], min_grade=2, monthly_wage_fen=380_000,  # type: ignore[list-item]
            minimum_scores=[pb.IndicatorScore(indicator="skills", score=3)])),
        ("street: community welfare post", pb.CreatePostRequest(
            kind=pb.POST_KIND_PUBLIC_WELFARE, title="社区保洁", openings=5,
            jurisdiction_path=communities[3], staggered_hours=True, monthly_wage_fen=220_000)),
        ("city-wide: remote post", pb.CreatePostRequest(
            kind=pb.POST_KIND_HOME_BASED, title="电商客服", jurisdiction_path=communities[10],
            track=4, openings=20, remote=True, monthly_wage_fen=260_000)),
        ("city-wide: post filed at the city", pb.CreatePostRequest(
            kind=pb.POST_KIND_WORKSHOP, title="手工艺坊", jurisdiction_path=f"/{CITY}/",
            track=2, openings=30, full_time=True, suitable_categories=[4, 2, 5],  # type: ignore[list-item]
            min_grade=2, monthly_wage_fen=240_000)),
    ]


def spec_of(p: pb.Post) -> matching.PostSpec:
    given = {s.indicator: s.score for s in p.minimum_scores}
    names = default_scale().names
    return matching.PostSpec(p.kind, p.employer_id or None, p.title, p.jurisdiction_path, p.track,
                             p.openings, p.staggered_hours, p.remote, p.full_time,
                             tuple(p.suitable_categories), p.min_grade,
                             tuple(given.get(n, 0) for n in names) if given else (),
                             p.monthly_wage_fen)


def sql_times(url: str, queries: list[tuple[str, list[Any]]]) -> list[float]:
    """Planning + execution time of each query as EXPLAIN ANALYZE reports it (seconds)."""
    found = []
    with psycopg.connect(url) as conn:
        for sql, params in queries:
            conn.execute("SELECT set_config('cdsp.scope', %s, true)", [f"/{CITY}/%"])
            plan = "\n".join(r[0] for r in conn.execute(
                f"EXPLAIN (ANALYZE, TIMING OFF) {sql}", params).fetchall())
            conn.rollback()
            found.append(sum(float(x) for x in re.findall(r"(?:Planning|Execution) Time: "
                                                          r"([\d.]+) ms", plan)) / 1000)
    return found


def print_plan(url: str, sql: str, params: list[Any]) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("SELECT set_config('cdsp.scope', %s, true)", [f"/{CITY}/%"])
        for (line,) in conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params).fetchall():
            print("    " + line)
        conn.rollback()


async def timed(calls: list[Any]) -> list[float]:
    latencies = []
    for call, request in calls:
        t0 = time.perf_counter()
        await call(request, timeout=30)
        latencies.append(time.perf_counter() - t0)
    return latencies


async def measure(stack: devstack.Stack, employers: list[str], calls: int) -> list[Figure]:
    url = stack.database_url(EMPLOYMENT)
    born = matching.birth_window(date.today(), 16, 59)
    results: list[tuple[str, list[float], list[float], int]] = []
    async with aio_channel(stack.grpc_addr(EMPLOYMENT), token("city_admin", [f"/{CITY}/"])
                           ) as channel:
        api = employment_pb2_grpc.EmploymentServiceStub(channel)
        posts = [(name, await api.CreatePost(r, timeout=10)) for name, r in cases(employers[0])]
        await asyncio.to_thread(wait_for_quiet, stack)
        for name, post in posts:
            request = pb.MatchCandidatesRequest(post_id=post.post_id, limit=20)
            reply = await api.MatchCandidates(request, timeout=30)
            await timed([(api.MatchCandidates, request)] * 5)
            grpc_s = await timed([(api.MatchCandidates, request)] * calls)
            spec = spec_of(post)
            query = post_store.candidates_query(spec, _subtrees(ADMIN, _row(post, spec)), born,
                                                20)
            results.append((f"MatchCandidates, {name}", grpc_s,
                            await asyncio.to_thread(sql_times, url, [query] * calls),
                            reply.considered))
            print(f"  {name:<36} {reply.considered:>6,} considered | gRPC p50 "
                  f"{ms(percentile(grpc_s, 50)):6.1f} p99 {ms(percentile(grpc_s, 99)):6.1f} ms",
                  flush=True)
        with psycopg.connect(url) as conn:
            conn.execute("SELECT set_config('cdsp.scope', %s, true)", [f"/{CITY}/%"])
            people = [CandidateRow(*r) for r in conn.execute(
                f"SELECT {COLUMNS} FROM candidates WHERE assessed AND NOT archived "
                "ORDER BY person_id LIMIT 50").fetchall()]
        requests = [pb.MatchPostsRequest(person_id=p.person_id, limit=20) for p in people]
        await timed([(api.MatchPosts, r) for r in requests])
        sample = [requests[i % len(requests)] for i in range(calls)]
        grpc_s = await timed([(api.MatchPosts, r) for r in sample])
        queries = [post_store.posts_query(people[i % len(people)], list(ADMIN.scopes), 20)
                   for i in range(calls)]
        results.append(("MatchPosts, 2,000 posts", grpc_s,
                        await asyncio.to_thread(sql_times, url, queries), 0))
    worst = posts[2][1]
    print(f"\n  EXPLAIN ANALYZE, MatchCandidates for the remote post ({worst.post_id}):")
    spec = spec_of(worst)
    print_plan(url, *post_store.candidates_query(spec, list(ADMIN.scopes), born, 20))
    rows = [[name, f"{n:,}" if n else "-", *(f"{ms(percentile(v, p)):.1f}" for v in (g, s)
                                             for p in (50, 95, 99))]
            for name, g, s, n in results]
    print_table(["call", "considered", "gRPC p50", "p95", "p99 ms", "SQL p50", "p95", "p99 ms"],
                rows, f"Employment matching, {calls} calls each (one client)")
    figures = []
    for name, g, s, _ in results:
        target = TARGET_P99_MS if name.startswith("MatchCandidates") else None
        figures += [Figure(f"{name} p50", "ms", ms(percentile(g, 50)), ms(percentile(s, 50))),
                    Figure(f"{name} p95", "ms", ms(percentile(g, 95)), ms(percentile(s, 95))),
                    Figure(f"{name} p99", "ms", ms(percentile(g, 99)), ms(percentile(s, 99)),
                           target)]
    return figures


def _row(post: pb.Post, spec: matching.PostSpec) -> post_store.PostRow:
    return post_store.PostRow(post.post_id, spec, post.filled, post.open)


def bench(stack: devstack.Stack, candidates: int, calls: int, posts: int) -> list[Figure]:
    devstack.drop_service_database(stack, EMPLOYMENT)
    skip_history(stack.kafka_bootstrap, [(GROUP, REGISTRY_TOPIC)])
    devstack.start_service(stack, EMPLOYMENT)
    try:
        print(f"  loading the fixture ({candidates:,} candidates) …", flush=True)
        employers = load(stack.database_url(EMPLOYMENT), candidates, posts)
        return asyncio.run(measure(stack, employers, calls))
    finally:
        devstack.stop_service(stack, EMPLOYMENT)


def run(stack: devstack.Stack | None = None, candidates: int = CANDIDATES, calls: int = CALLS,
        posts: int = POSTS) -> list[Figure]:
    if stack is None:
        with running_stack() as own:
            return bench(own, candidates, calls, posts)
    return bench(stack, candidates, calls, posts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", type=int, default=CANDIDATES)
    parser.add_argument("--calls", type=int, default=CALLS, help="calls per case")
    parser.add_argument("--posts", type=int, default=POSTS)
    args = parser.parse_args()
    print_figures(run(candidates=args.candidates, calls=args.calls, posts=args.posts),
                  "Employment matching")


if __name__ == "__main__":
    main()
