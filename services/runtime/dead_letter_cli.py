"""What an operator does with records a service could not handle: its consumers' dead letters
and the outbox records the broker refused for good.

    CDSP_DATABASE_URL=postgresql://... python -m runtime.dead_letter_cli list [--consumer GROUP]
    ... replay ID [ID ...] | --all [--consumer GROUP] [--wait SECONDS]
    ... discard ID [ID ...] | --all --consumer GROUP
    ... outbox-list
    ... outbox-retry ID [ID ...] [--wait SECONDS]

`replay` asks the running service to process the records again with its own handlers (any
replica: the consumer that owns the group picks the request up within a second) and waits for
the outcome: replayed (the row is gone), or failed again (the new error is shown). `outbox-retry`
puts parked outbox records back in line for the relay. Payloads are never printed: they may hold
personal data. Exit status: 0 done, 1 something failed again or did not finish in time, 2 bad
usage or settings.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

from runtime import dead_letters
from runtime.auth import SYSTEM
from runtime.db import OUTBOX_CHANNEL, Database

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _print_parked(rows: list[dead_letters.ParkedRecord]) -> None:
    print(f"{len(rows)} dead letter(s)")
    for r in rows:
        asked = " replay requested" if r.replay_requested_at else ""
        print(f"{r.id}\t{r.consumer}\t{r.topic}[{r.partition}]@{r.offset}\t"
              f"{r.event_type or '(undecodable)'}\t{r.attempts} attempt(s)\t"
              f"{r.parked_at:%Y-%m-%dT%H:%M:%S%z}{asked}\n\t{r.error[:300]}")


async def _ids(db: Database, args: argparse.Namespace) -> list[int]:
    if args.all:
        return [r.id for r in await dead_letters.listing(db, args.consumer)]
    return list(args.ids)


async def _replay(db: Database, args: argparse.Namespace) -> int:
    asked = await dead_letters.request_replay(db, await _ids(db, args))
    print(f"replay requested for {len(asked)} dead letter(s): {asked}")
    deadline = time.monotonic() + args.wait
    waiting = set(asked)
    while waiting and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        rows = {r.id: r for r in await dead_letters.listing(db, ids=sorted(waiting))}
        for done in waiting - set(rows):
            print(f"{done}\treplayed")
        waiting &= {i for i, r in rows.items() if r.replay_requested_at is not None}
        for failed in set(rows) - waiting:
            print(f"{failed}\tfailed again: {rows[failed].error[:300]}")
        waiting = {i for i in waiting if i in rows}
        asked = [i for i in asked if i in rows and i not in waiting]
    for late in sorted(waiting):
        print(f"{late}\tnot picked up in {args.wait:.0f}s: is the service running? (the request "
              "stays: it replays when the service runs)")
    failed_again = await dead_letters.listing(db, ids=asked) if asked else []
    return EXIT_FAILED if waiting or failed_again else EXIT_OK


async def _outbox_list(db: Database) -> int:
    async with db.unit_of_work(SYSTEM) as uow:
        rows = await uow.fetchall(
            "SELECT id, topic, event_type, record_key, parked_at, attempts, last_error "
            "FROM outbox WHERE parked_at IS NOT NULL AND published_at IS NULL ORDER BY id")
    print(f"{len(rows)} parked outbox record(s)")
    for r in rows:
        print(f"{r[0]}\t{r[1]}\t{r[2]}\tkey {r[3]}\tparked {r[4]:%Y-%m-%dT%H:%M:%S%z}\t"
              f"{r[5]} attempt(s)\n\t{(r[6] or '')[:300]}")
    return EXIT_OK


async def _outbox_retry(db: Database, args: argparse.Namespace) -> int:
    async with db.unit_of_work(SYSTEM) as uow:
        rows = await uow.fetchall("UPDATE outbox SET parked_at = NULL WHERE id = ANY(%s) "
                                  "AND published_at IS NULL AND parked_at IS NOT NULL "
                                  "RETURNING id", [list(args.ids)])
        await uow.execute(f"NOTIFY {OUTBOX_CHANNEL}")
    waiting = {int(r[0]) for r in rows}
    print(f"back in line for the relay: {sorted(waiting)}")
    deadline = time.monotonic() + args.wait
    while waiting and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        async with db.unit_of_work(SYSTEM) as uow:
            found = await uow.fetchall("SELECT id, published_at IS NOT NULL, parked_at IS NOT "
                                       "NULL, last_error FROM outbox WHERE id = ANY(%s)",
                                       [sorted(waiting)])
        for event_id, published, parked, error in found:
            if published or parked:
                print(f"{event_id}\t{'published' if published else 'parked again: ' + error}")
                waiting.discard(event_id)
                if parked:
                    return EXIT_FAILED
    return EXIT_FAILED if waiting else EXIT_OK


async def run(args: argparse.Namespace, url: str) -> int:
    db = Database(url, "dead-letter-cli", 1, 2)
    await db.open()
    try:
        if args.command == "list":
            _print_parked(await dead_letters.listing(db, args.consumer))
            return EXIT_OK
        if args.command == "replay":
            return await _replay(db, args)
        if args.command == "discard":
            removed = await dead_letters.discard(db, await _ids(db, args))
            print(f"discarded {len(removed)} dead letter(s): {removed}")
            return EXIT_OK
        if args.command == "outbox-list":
            return await _outbox_list(db)
        return await _outbox_retry(db, args)
    finally:
        await db.close()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m runtime.dead_letter_cli", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="the dead letters, oldest first")
    listing.add_argument("--consumer", default="", help="only this consumer group")
    for name in ("replay", "discard"):
        c = sub.add_parser(name, help=f"{name} dead letters by id, or --all of a group")
        c.add_argument("ids", nargs="*", type=int)
        c.add_argument("--all", action="store_true")
        c.add_argument("--consumer", default="")
        c.add_argument("--wait", type=float, default=30.0, help="seconds to wait (replay)")
    sub.add_parser("outbox-list", help="outbox records the broker refused for good")
    retry = sub.add_parser("outbox-retry", help="put parked outbox records back in line")
    retry.add_argument("ids", nargs="+", type=int)
    retry.add_argument("--wait", type=float, default=30.0)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    url = os.environ.get("CDSP_DATABASE_URL", "")
    if not url:
        print("CDSP_DATABASE_URL is required (the service's own database)", file=sys.stderr)
        return EXIT_USAGE
    if args.command in ("replay", "discard") and bool(args.ids) == bool(args.all):
        print("name the dead letters by id, or --all (not both)", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "discard" and args.all and not args.consumer:
        print("discard --all needs --consumer GROUP", file=sys.stderr)
        return EXIT_USAGE
    return asyncio.run(run(args, url))


if __name__ == "__main__":
    sys.exit(main())
