"""Re-publishing the current state of a service's aggregates: snapshot events.

Topics keep 30 days. A projection restored from a backup, or a consumer that starts after that
(a new service, a partner), cannot rebuild from the topic alone: the owning service re-publishes
what it holds now, each aggregate as one event with Envelope.snapshot set and the aggregate's
current version. Consumers apply it by version like any other event (a projection that already
holds that version ignores it); handlers with side effects never see it (runtime.consumer).

A service lists its aggregates as SnapshotSources in `<service>/snapshots.py` (SOURCES). The
command `python -m runtime.snapshot_cli <service>` walks each source in pages of its key and
writes every page's events to the outbox in one transaction, so the running service's relay
publishes them with the usual guarantees, in order after whatever the aggregate published before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message

from runtime.auth import SYSTEM
from runtime.db import Database

PAGE = 1000
FIRST_UUID = "00000000-0000-0000-0000-000000000000"
AFTER_UUID = f"coalesce(nullif(%(after)s, '')::uuid, '{FIRST_UUID}')"


def page_by_uuid(columns: str, table: str, key: str, where: str = "") -> str:
    """The query of one page of `table` keyed by the uuid column `key` (its text first among
    `columns`). ORDER BY names the table's column: a bare name would be the select list's
    `key::text`, sorted as text, which no index serves; `where` adds conditions (" AND ...")."""
    return (f"SELECT {columns} FROM {table} WHERE {table}.{key} > {AFTER_UUID}{where} "
            f"ORDER BY {table}.{key} LIMIT %(limit)s")


@dataclass(frozen=True)
class Snapshot:
    """One aggregate's state as an event."""

    payload: Message
    aggregate_id: str
    version: int
    jurisdiction_path: str


@dataclass(frozen=True)
class SnapshotSource:
    """An aggregate type and how to read it.

    `query` selects one page: it takes %(after)s (the last key of the page before, '' at first)
    and %(limit)s, filters `key > %(after)s`, orders by the key, and returns the key (text) as
    its first column; `build` turns a row into its Snapshot. `topic`: where the events go when
    not the service's own topic (the registry's restricted contacts topic)."""

    aggregate_type: str
    query: str
    build: Callable[[Sequence[Any]], Snapshot]
    topic: str | None = None


async def publish(db: Database, sources: list[SnapshotSource], page: int = PAGE,
                  only: set[str] | None = None) -> dict[str, int]:
    """Writes every aggregate of the sources (or of the types in `only`) to the outbox as
    snapshot events; returns how many of each type."""
    written: dict[str, int] = {}
    for source in sources:
        if only and source.aggregate_type not in only:
            continue
        after, count = "", 0
        while True:
            async with db.unit_of_work(SYSTEM) as uow:
                # Row-level security makes the planner expect few rows to pass, so it would sort
                # everything after `after` to find a page; reading the key's index in order
                # costs one page per page.
                await uow.execute("SET LOCAL enable_sort = off")
                rows = await uow.fetchall(source.query, {"after": after, "limit": page})
                for row in rows:
                    state = source.build(row)
                    uow.record(state.payload, aggregate_type=source.aggregate_type,
                               aggregate_id=state.aggregate_id, version=state.version,
                               jurisdiction_path=state.jurisdiction_path, snapshot=True,
                               topic=source.topic)
            count += len(rows)
            if len(rows) < page:
                break
            after = str(rows[-1][0])
        written[source.aggregate_type] = count
    return written
