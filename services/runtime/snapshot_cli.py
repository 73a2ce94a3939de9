"""Re-publishes the current state of a service's aggregates as snapshot events (runtime.snapshots):
for a projection restored from a backup, or a consumer that starts after the topics' 30 days.

    CDSP_DATABASE_URL=postgresql://... python -m runtime.snapshot_cli registry [--only person]

Reads the service's SOURCES (`<service>/snapshots.py`) and writes the events to its outbox; the
running service's relay publishes them (if it is not running, they wait in the outbox). Prints
how many aggregates of each type were written. Exit status: 0 done, 1 failed, 2 bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import sys

from runtime.db import Database
from runtime.logs import configure_logging
from runtime.snapshots import PAGE, SnapshotSource, publish

log = logging.getLogger("cdsp.snapshot")
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def sources_of(service: str) -> list[SnapshotSource]:
    if not service.isidentifier() or service == "runtime":
        raise ValueError(f"not a service package name: {service!r}")
    module = importlib.import_module(f"{service}.snapshots")
    found = getattr(module, "SOURCES", None)
    if not isinstance(found, list):
        raise ValueError(f"{service}.snapshots has no SOURCES list")
    return found


async def run(service: str, url: str, only: set[str], page: int) -> dict[str, int]:
    db = Database(url, service, 1, 2)
    await db.open()
    try:
        return await publish(db, sources_of(service), page, only or None)
    finally:
        await db.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runtime.snapshot_cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("service", help="the owning service, e.g. registry")
    parser.add_argument("--only", action="append", default=[],
                        help="an aggregate type to re-publish (repeatable); default: all")
    parser.add_argument("--page", type=int, default=PAGE, help="aggregates per transaction")
    args = parser.parse_args(argv)
    configure_logging(f"{args.service}-snapshot", os.environ.get("CDSP_LOG_LEVEL", "INFO"))
    url = os.environ.get("CDSP_DATABASE_URL", "")
    if not url:
        print("CDSP_DATABASE_URL is required (the service's own database)", file=sys.stderr)
        return EXIT_USAGE
    try:
        known = {s.aggregate_type for s in sources_of(args.service)}
    except (ImportError, ValueError) as exc:
        print(f"cannot read the snapshot sources of {args.service!r}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    unknown = set(args.only) - known
    if unknown or args.page < 1:
        print(f"unknown aggregate types {sorted(unknown)}; known: {sorted(known)}"
              if unknown else "--page must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    try:
        written = asyncio.run(run(args.service, url, set(args.only), args.page))
    except Exception:
        log.exception("snapshot of %s failed", args.service)  # the URL is never logged
        return EXIT_FAILED
    for aggregate_type, count in written.items():
        print(f"{aggregate_type}\t{count}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
