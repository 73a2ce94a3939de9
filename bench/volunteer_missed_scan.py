"""Volunteer missed-visit scan: the job that finds schedules past their due time, over 500,000
scheduled persons, next to its SQL alone.

    PYTHONPATH=services:scripts .venv/bin/python bench/volunteer_missed_scan.py [--persons N]
                                                                   [--overdue 0.05]

Fixture: the volunteer service runs on the bench stack (its database emptied first, its
consumers moved past what other benches left on their topics, a scan interval of an hour so
its own timer stays out of the way). Into its database, as the service's own role (row-level
security applies; COPY into staging tables, then INSERT … SELECT under the city's scope): N
cared-for persons of one city (4 districts × 6 streets × 8 communities × 5 grids), 80% green,
15% yellow, 5% red, each visited one interval before their due time (10% never visited);
`overdue` of them (5%) past due by up to three days and not yet announced — the first scan
after a long outage, the worst a scan meets; the others due within their interval (from an
hour on). A third of the persons have a visiting volunteer (four persons each, active
pairings).

Measured: the scan the service's job runs (volunteer.service.visits.scan_missed), called in
this process against the same database with a real Database pool. After an outage: every
overdue schedule marked in batches, a VisitMissed written to the outbox for each (the service's
relay publishes them meanwhile, and the registry's consumer reads them: on a small machine they
compete for the same cores, hence the CPU line). Every 5 minutes: what fell due since the last
scan on average (schedules moved to a minute ago), among the 500,000 and the overdue already
announced. Then a scan with nothing new. Target: under 5 s. The ceiling is the scan's SQL
alone (the same batched UPDATE … RETURNING, as the service's role, without events; rolled back
and vacuumed before the real scan).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
from common import (
    CpuMeter,
    Figure,
    _cpu_s,
    cpu_line,
    ms,
    outbox_drained,
    print_figures,
    running_stack,
    skip_history,
    wait_for_quiet,
)

import devstack
from runtime.db import Database
from volunteer.adapters.visit_store import MARK_MISSED, VOLUNTEER_ROLE
from volunteer.config import GREEN, RED, YELLOW, VolunteerRules, Volunteers
from volunteer.service.visits import SCAN_BATCH, scan_missed

VOLUNTEER = "volunteer"
CITY = "3511"
DISTRICTS, STREETS, COMMUNITIES, GRIDS = 4, 6, 8, 5
PERSONS, OVERDUE = 500_000, 0.05
PAIRED, PER_VOLUNTEER = 1 / 3, 4
TARGET_S = 5.0
SEED = 20240620
HOURS = VolunteerRules().visit_hours
GROUPS = (("volunteer-registry-projection", "cdsp.registry.v1"),
          ("volunteer-aid-warnings", "cdsp.aid.v1"))
PERSON_COLUMNS = ("person_id, household_id, jurisdiction_path, category, grade, living_alone, "
                  "version, colour, colour_reason, colour_set_at, last_visit_at, next_due_at")
VOLUNTEER_COLUMNS = ("volunteer_id, name, kind, grid_paths, jurisdiction_path, verified, "
                     "max_load, load, registered_by")
PAIRING_COLUMNS = "pairing_id, person_id, volunteer_id, role, jurisdiction_path, started_by"


def grids() -> list[str]:
    found = []
    for d in range(1, DISTRICTS + 1):
        dc = f"{CITY}{d:02d}"
        for s in range(1, STREETS + 1):
            sc = f"{dc}{s:03d}"
            for c in range(1, COMMUNITIES + 1):
                cc = f"{sc}{c:03d}"
                found += [f"/{CITY}/{dc}/{sc}/{cc}/{cc}-{g:02d}/" for g in range(1, GRIDS + 1)]
    return found


def _ts(t: datetime | None) -> str:
    return t.isoformat() if t else "\\N"


def fixture(n: int, overdue: float, now: datetime, rng: random.Random
            ) -> tuple[list[str], list[str], list[str]]:
    """COPY text rows: persons, volunteers, pairings (see the module's docstring)."""
    paths = grids()
    persons, paired = [], []
    for i in range(n):
        colour = rng.choices((GREEN, YELLOW, RED), (80, 15, 5))[0]
        interval = timedelta(hours=HOURS[colour])
        if rng.random() < overdue:
            due = now - timedelta(seconds=rng.uniform(60, 3 * 86_400))
        else:
            due = now + timedelta(seconds=rng.uniform(3600, interval.total_seconds()))
        visited = None if rng.random() < 0.1 else due - interval
        pid, path = str(uuid.UUID(int=rng.getrandbits(128))), paths[rng.randrange(len(paths))]
        persons.append("\t".join((
            pid, str(uuid.UUID(int=rng.getrandbits(128))), path, str(1 + i % 7),
            str(1 + i % 4), "t", "1", str(colour), "living alone or severely disabled",
            _ts(due - interval), _ts(visited), _ts(due))) + "\n")
        if rng.random() < PAIRED:
            paired.append((path, pid))
    paired.sort()
    volunteers, pairings = [], []
    for k in range(0, len(paired), PER_VOLUNTEER):
        group = paired[k:k + PER_VOLUNTEER]
        vid, path = str(uuid.UUID(int=rng.getrandbits(128))), group[0][0]
        volunteers.append("\t".join((vid, f"志愿者{k}", str(1 + k % 5), "{" + path + "}", path,
                                     "t", "5", str(len(group)), "bench")) + "\n")
        pairings += ["\t".join((str(uuid.UUID(int=rng.getrandbits(128))), pid, vid,
                                str(VOLUNTEER_ROLE), person_path, "bench")) + "\n"
                     for person_path, pid in group]
    return persons, volunteers, pairings


def load(url: str, n: int, overdue: float) -> int:
    """Loads the fixture; returns how many schedules are overdue."""
    t0 = time.perf_counter()
    persons, volunteers, pairings = fixture(n, overdue, datetime.now(UTC), random.Random(SEED))
    with psycopg.connect(url, autocommit=True) as conn:
        for table, columns, lines in (("persons", PERSON_COLUMNS, persons),
                                      ("volunteers", VOLUNTEER_COLUMNS, volunteers),
                                      ("pairings", PAIRING_COLUMNS, pairings)):
            conn.execute(f"CREATE TEMP TABLE stage_{table} (LIKE {table} INCLUDING DEFAULTS)")
            with conn.cursor().copy(f"COPY stage_{table} ({columns}) FROM STDIN") as copy:
                for i in range(0, len(lines), 5000):
                    copy.write("".join(lines[i:i + 5000]))
        t1 = time.perf_counter()
        with conn.transaction():
            conn.execute("SELECT set_config('cdsp.scope', %s, true)", [f"/{CITY}/%"])
            for table, columns in (("persons", PERSON_COLUMNS),
                                   ("volunteers", VOLUNTEER_COLUMNS),
                                   ("pairings", PAIRING_COLUMNS)):
                conn.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} "
                             f"FROM stage_{table}")
        t2 = time.perf_counter()
        for table in ("persons", "volunteers", "pairings"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
        conn.execute("SELECT set_config('cdsp.scope', '/%', false)")
        due = conn.execute("SELECT count(*) FROM persons WHERE next_due_at <= now()").fetchone()
    assert due is not None
    print(f"  {n:,} persons ({due[0]:,} overdue), {len(volunteers):,} volunteers, "
          f"{len(pairings):,} pairings: generated and copied {t1 - t0:.1f} s, inserted "
          f"{t2 - t1:.1f} s, VACUUM ANALYZE {time.perf_counter() - t2:.1f} s", flush=True)
    return int(due[0])


def sql_alone(url: str) -> tuple[float, int]:
    """The scan's batched UPDATE alone, in one transaction rolled back, then vacuumed: (seconds,
    rows marked)."""
    marked = 0
    with psycopg.connect(url) as conn:
        conn.execute("SELECT set_config('cdsp.scope', '/%', true)")
        t0 = time.perf_counter()
        while True:
            rows = conn.execute(MARK_MISSED, {"limit": SCAN_BATCH, "role": VOLUNTEER_ROLE}
                                ).fetchall()
            marked += len(rows)
            if len(rows) < SCAN_BATCH:
                break
        took = time.perf_counter() - t0
        conn.rollback()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) persons")
    return took, marked


def newly_due(n: int, interval_s: int = 300) -> int:
    """How many of the fixture's schedules fall due within one scan interval (5 minutes), on
    average: each colour's share over its visit interval."""
    per_hour = sum(share / HOURS[colour] for colour, share in ((GREEN, 0.80), (YELLOW, 0.15),
                                                                (RED, 0.05)))
    return round(n * per_hour * interval_s / 3600)


def fall_due(url: str, count: int) -> None:
    """Time travel: `count` schedules fall due a minute ago, as between two scans."""
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute("SELECT set_config('cdsp.scope', '/%', true)")
        conn.execute("UPDATE persons SET next_due_at = now() - interval '1 minute' "
                     "WHERE person_id IN (SELECT person_id FROM persons "
                     "WHERE next_due_at > now() LIMIT %s)", [count])


async def timed_scan(v: Volunteers) -> tuple[float, int]:
    t0 = time.perf_counter()
    found = await scan_missed(v)
    return time.perf_counter() - t0, found["missed"]


async def measure(stack: devstack.Stack, n: int, due: int) -> list[Figure]:
    """The job's scan through a real pool: after an outage (every overdue schedule new), with
    nothing new, and as every 5 minutes (what fell due since the last scan)."""
    url = stack.database_url(VOLUNTEER)
    db = Database(url, VOLUNTEER, min_size=2, max_size=4)
    await db.open()
    try:
        v = Volunteers(db, VolunteerRules(), ZoneInfo("Asia/Shanghai"))
        alone, marked = await asyncio.to_thread(sql_alone, url)
        meter, relay = CpuMeter(stack), stack.procs[VOLUNTEER].pid
        before, relay_before = meter.read(), _cpu_s(relay)
        worst, announced = await timed_scan(v)
        used = CpuMeter.delta(before, meter.read())
        used["volunteer (relay)"] = _cpu_s(relay) - relay_before
        used["other processes"] -= used["volunteer (relay)"]
        print(f"  after an outage: {announced:,} missed visits announced in {worst:.2f} s "
              f"({announced / worst:,.0f}/s); SQL alone {alone:.2f} s", flush=True)
        print(cpu_line(used, announced, "visit"), flush=True)
        await outbox_drained(url)
        await asyncio.to_thread(wait_for_quiet, stack)
        nothing, none = await timed_scan(v)
        new = newly_due(n)
        await asyncio.to_thread(fall_due, url, new)
        steady_alone, _ = await asyncio.to_thread(sql_alone, url)
        steady, found = await timed_scan(v)
        print(f"  nothing new: {ms(nothing):.1f} ms; every 5 minutes ({new} fell due): "
              f"{ms(steady):.1f} ms, SQL alone {ms(steady_alone):.1f} ms", flush=True)
    finally:
        await db.close()
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM outbox WHERE event_type = "
                           "'cdsp.events.v1.VisitMissed'").fetchone()
    assert (announced, none, found) == (due, 0, new) and marked == due, (announced, none, found)
    assert row is not None and row[0] == due + new, row
    return [Figure(f"missed-visit scan after an outage, {n:,} scheduled, {due:,} overdue",
                   "s", worst, alone, TARGET_S),
            Figure(f"missed-visit scan every 5 min, {n:,} scheduled, {new} fell due", "ms",
                   ms(steady), ms(steady_alone), TARGET_S * 1000),
            Figure("missed-visit scan, nothing new to announce", "ms", ms(nothing), None)]


def bench(stack: devstack.Stack, n: int, overdue: float) -> list[Figure]:
    devstack.drop_service_database(stack, VOLUNTEER)
    skip_history(stack.kafka_bootstrap, GROUPS)
    devstack.start_service(stack, VOLUNTEER, {"CDSP_VOLUNTEER_SCAN_S": "3600"})
    try:
        print(f"  loading the fixture ({n:,} scheduled persons) …", flush=True)
        due = load(stack.database_url(VOLUNTEER), n, overdue)
        wait_for_quiet(stack)
        return asyncio.run(measure(stack, n, due))
    finally:
        devstack.stop_service(stack, VOLUNTEER)


def run(stack: devstack.Stack | None = None, persons: int = PERSONS,
        overdue: float = OVERDUE) -> list[Figure]:
    if stack is None:
        with running_stack() as own:
            return bench(own, persons, overdue)
    return bench(stack, persons, overdue)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=PERSONS)
    parser.add_argument("--overdue", type=float, default=OVERDUE,
                        help="share of the persons past due, not yet announced")
    args = parser.parse_args()
    print_figures(run(persons=args.persons, overdue=args.overdue), "Volunteer missed-visit scan")


if __name__ == "__main__":
    main()
