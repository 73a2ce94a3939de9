"""Runs every benchmark on one bench stack, in order, and prints a summary table.

    make bench        (or: PYTHONPATH=services:scripts .venv/bin/python bench/run_all.py)

1. registrations.py          registrations/s and latency through gRPC vs straight SQL
2. registration_to_event.py  registration → event on the broker vs the broker alone
3. list_by_community.py      ListPersons latency with 500,000 persons vs the same SQL
4. aid_warnings.py           hardship report → warning event; a city-wide income update of
                             500,000 households re-evaluated by the aid service
5. notifications.py          warning events → notices rendered and dispatched per second to the
                             inbox and webhook channels; event → inbox latency (StreamInbox)
6. employment_matching.py    MatchCandidates for a post among 100,000 candidates (street and
                             city-wide posts), MatchPosts among 2,000 posts, vs the SQL alone
7. volunteer_missed_scan.py  the missed-visit scan over 500,000 scheduled persons: after an
                             outage (5% overdue, all new), every 5 minutes, vs its SQL alone
8. console_pages.py          the worker console with 500,000 persons: a person's file and a
                             50-row list, p50/p99 per page, vs the same gRPC calls made straight
                             (the BFF's overhead)

The stack (PostgreSQL :55442, broker :19192, registry :50151) starts with an empty registry
database and is stopped at the end; the aid, notification, employment and volunteer benches
start (and stop) their own service on it, the console bench aid, volunteer, the local issuer
and the console. Nothing here asserts: the figures are printed, with the targets from the issue
and whether each is met.
"""

from __future__ import annotations

import subprocess
import time
import traceback
from collections.abc import Callable

import aid_warnings
import console_pages
import employment_matching
import list_by_community
import notifications
import registration_to_event
import registrations
import volunteer_missed_scan
from common import ROOT, CpuMeter, Figure, print_figures, running_stack

import devstack

BENCHES: list[tuple[str, Callable[[devstack.Stack], list[Figure]]]] = [
    ("registrations", registrations.run),
    ("registration to event", registration_to_event.run),
    ("list by community", list_by_community.run),
    ("aid warnings", aid_warnings.run),
    ("notifications", notifications.run),
    ("employment matching", employment_matching.run),
    ("volunteer missed-visit scan", volunteer_missed_scan.run),
    ("console pages", console_pages.run),
]


def git_state() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=False).stdout.strip()

    changed = git("status", "--short", "--", "services", "scripts")
    return git("log", "-1", "--format=%h %s") + (" (+ uncommitted changes in services/ or "
                                                  "scripts/)" if changed else "")


def main() -> None:
    started = time.perf_counter()
    figures: list[Figure] = []
    failed: list[str] = []
    print(f"code under test: {git_state()}", flush=True)
    with running_stack() as stack:
        meter = CpuMeter(stack)
        before = meter.read()
        for name, run in BENCHES:
            print(f"\n==================== {name} ====================", flush=True)
            t0 = time.perf_counter()
            try:
                figures += run(stack)
            except Exception:
                traceback.print_exc()
                failed.append(name)
            print(f"({name}: {time.perf_counter() - t0:.0f} s)", flush=True)
        used = CpuMeter.delta(before, meter.read())
    print_figures(figures, "Summary (ratio = measured / ceiling; the ceiling is PostgreSQL or "
                           "the broker alone, without the platform)")
    print("CPU over the whole run, in cores: "
          + ", ".join(f"{k} {v / used['wall']:.2f}" for k, v in used.items() if k != "wall"))
    if failed:
        print(f"FAILED (see the tracebacks above): {', '.join(failed)}")
    print(f"wall time {time.perf_counter() - started:.0f} s")
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
