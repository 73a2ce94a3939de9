"""Inbox retention. The inbox turns a redelivered event into a no-op; a redelivery can only come
from offsets still on a topic (30 days' retention, deploy/kafka/topics.yaml), so a row older than
CDSP_INBOX_RETENTION_DAYS (35: the retention and a margin) can no longer prevent anything and is
removed, in batches, by a job every replica runs (two replicas deleting at once skip each other's
rows). Projections never rely on the inbox for order: they compare aggregate versions.
"""

from __future__ import annotations

from runtime.auth import SYSTEM
from runtime.db import Database
from runtime.metrics import INBOX_PURGED

BATCH = 10_000


async def purge_expired(db: Database, retention_days: int) -> int:
    """Removes inbox rows processed more than `retention_days` ago; returns how many."""
    removed = 0
    while True:
        async with db.unit_of_work(SYSTEM) as uow:
            rows = await uow.fetchall(
                "DELETE FROM inbox WHERE ctid = ANY(ARRAY(SELECT ctid FROM inbox "
                "WHERE processed_at < now() - make_interval(days => %s) LIMIT %s "
                "FOR UPDATE SKIP LOCKED)) RETURNING 1", [retention_days, BATCH])
        removed += len(rows)
        INBOX_PURGED.inc(len(rows))
        if len(rows) < BATCH:
            return removed
