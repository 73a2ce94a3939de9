"""SQL for notices and their deliveries as the API shows them, and for webhooks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from runtime.db import UnitOfWork
from runtime.sql import in_subtrees

NOTICE_COLUMNS = ("notice_id::text, source_event_id::text, source_event_type, template, "
                  "recipient_kind, recipient_id, jurisdiction_path, urgent, title, body, locale, "
                  "easy_read, flash_alert, channel_reasons, undeliverable_reason, created_at")
DELIVERY_COLUMNS = ("notice_id::text, channel, status, attempts, last_error, next_attempt_at, "
                    "delivered_at")


@dataclass(frozen=True)
class NewNotice:
    source_event_id: str
    source_event_type: str
    rule: str
    template: str
    recipient_kind: str
    recipient_id: str
    jurisdiction_path: str
    urgent: bool
    title: str
    body: str
    locale: str
    easy_read: bool
    flash_alert: bool
    channel_reasons: tuple[str, ...]
    undeliverable_reason: str
    channels: tuple[str, ...]            # inbox, sms, voice, email
    webhook_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeliveryRow:
    notice_id: str
    channel: str
    status: int
    attempts: int
    last_error: str
    next_attempt_at: datetime | None
    delivered_at: datetime | None


@dataclass(frozen=True)
class NoticeRow:
    notice_id: str
    source_event_id: str
    source_event_type: str
    template: str
    recipient_kind: str
    recipient_id: str
    jurisdiction_path: str
    urgent: bool
    title: str
    body: str
    locale: str
    easy_read: bool
    flash_alert: bool
    channel_reasons: list[str]
    undeliverable_reason: str
    created_at: datetime
    deliveries: tuple[DeliveryRow, ...] = ()


async def insert(uow: UnitOfWork, n: NewNotice) -> str | None:
    """Stores a notice and one pending delivery per channel; None when this event already made
    this notice for this recipient (a duplicate delivery of the event)."""
    notice_id = str(uuid.uuid4())
    row = await uow.fetchone(
        "INSERT INTO notices (notice_id, source_event_id, source_event_type, rule, template, "
        "recipient_kind, recipient_id, jurisdiction_path, urgent, title, body, locale, "
        "easy_read, flash_alert, channel_reasons, undeliverable_reason) VALUES (%s, %s, %s, %s, "
        "%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT ON CONSTRAINT notices_once DO NOTHING RETURNING notice_id",
        [notice_id, n.source_event_id, n.source_event_type, n.rule, n.template, n.recipient_kind,
         n.recipient_id, n.jurisdiction_path, n.urgent, n.title, n.body, n.locale, n.easy_read,
         n.flash_alert, list(n.channel_reasons), n.undeliverable_reason])
    if row is None:
        return None
    targets: list[tuple[str, str | None]] = [(c, None) for c in n.channels]
    targets += [("webhook", w) for w in n.webhook_ids]
    if targets:
        async with uow.conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO deliveries (delivery_id, notice_id, channel, webhook_id, "
                "recipient_kind, recipient_id, jurisdiction_path, urgent) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [(str(uuid.uuid4()), notice_id, channel, webhook, n.recipient_kind,
                  n.recipient_id, n.jurisdiction_path, n.urgent) for channel, webhook in targets])
    return notice_id


def _notice(row: Sequence[Any], deliveries: tuple[DeliveryRow, ...] = ()) -> NoticeRow:
    return NoticeRow(*row, deliveries=deliveries)  # type: ignore[misc]


async def _with_deliveries(uow: UnitOfWork, rows: list[Any]) -> list[NoticeRow]:
    ids = [r[0] for r in rows]
    found: dict[str, list[DeliveryRow]] = {i: [] for i in ids}
    if ids:
        for d in await uow.fetchall(f"SELECT {DELIVERY_COLUMNS} FROM deliveries "
                                    "WHERE notice_id = ANY(%s::uuid[]) ORDER BY channel", [ids]):
            found[d[0]].append(DeliveryRow(*d))
    return [_notice(r, tuple(found[r[0]])) for r in rows]


async def get(uow: UnitOfWork, notice_id: str) -> NoticeRow | None:
    rows = await uow.fetchall(f"SELECT {NOTICE_COLUMNS} FROM notices WHERE notice_id = %s",
                              [notice_id])
    found = await _with_deliveries(uow, rows)
    return found[0] if found else None


async def inbox(uow: UnitOfWork, recipient_id: str, after: str, limit: int) -> list[NoticeRow]:
    """A recipient's in-app notices, newest first (`after`: the last notice id of the page
    before)."""
    cursor = ("AND (n.created_at, n.notice_id) < (SELECT created_at, notice_id FROM notices "
              "WHERE notice_id = %(after)s)" if after else "")
    rows = await uow.fetchall(
        f"SELECT {NOTICE_COLUMNS.replace('notice_id::text', 'n.notice_id::text', 1)} "
        "FROM notices n WHERE n.recipient_id = %(who)s AND EXISTS (SELECT 1 FROM deliveries d "
        "WHERE d.notice_id = n.notice_id AND d.channel = 'inbox' AND d.status IN (2, 3)) "
        f"{cursor} ORDER BY n.created_at DESC, n.notice_id DESC LIMIT %(limit)s",
        {"who": recipient_id, "after": after or None, "limit": limit + 1})
    return await _with_deliveries(uow, rows)


async def in_jurisdictions(uow: UnitOfWork, paths: list[str], source_event_id: str, after: str,
                           limit: int) -> list[NoticeRow]:
    where, params = in_subtrees(paths, "jurisdiction_path")
    if source_event_id:
        where += " AND source_event_id = %s"
        params.append(source_event_id)
    if after:
        where += (" AND (created_at, notice_id) < (SELECT created_at, notice_id FROM notices "
                  "WHERE notice_id = %s)")
        params.append(after)
    rows = await uow.fetchall(f"SELECT {NOTICE_COLUMNS} FROM notices WHERE {where} "
                              "ORDER BY created_at DESC, notice_id DESC LIMIT %s",
                              [*params, limit + 1])
    return await _with_deliveries(uow, rows)


async def stats(uow: UnitOfWork, paths: list[str]) -> tuple[list[tuple[str, int, int]], int]:
    where, params = in_subtrees(paths, "jurisdiction_path")
    counts = await uow.fetchall(f"SELECT channel, status, count(*) FROM deliveries WHERE {where}"
                                " GROUP BY channel, status ORDER BY channel, status", params)
    undeliverable = await uow.fetchone(f"SELECT count(*) FROM notices WHERE {where} AND "
                                       "undeliverable_reason <> ''", params)
    return ([(str(c), int(s), int(n)) for c, s, n in counts],
            int(undeliverable[0]) if undeliverable else 0)


# --- webhooks -------------------------------------------------------------------------------------
async def add_webhook(uow: UnitOfWork, url: str, event_types: list[str], path: str,
                      secret: str) -> str:
    webhook_id = str(uuid.uuid4())
    await uow.execute("INSERT INTO webhooks (webhook_id, url, event_types, jurisdiction_path, "
                      "secret, created_by) VALUES (%s, %s, %s, %s, %s, %s)",
                      [webhook_id, url, event_types, path, secret, uow.caller.subject])
    return webhook_id


async def matching_webhooks(uow: UnitOfWork, event_type: str, path: str) -> list[str]:
    """Active webhooks whose jurisdiction contains `path` and that want this event type."""
    rows = await uow.fetchall(
        "SELECT webhook_id::text FROM webhooks WHERE active AND starts_with(%s, "
        "jurisdiction_path) AND (event_types = '{}' OR %s = ANY(event_types)) "
        "ORDER BY webhook_id", [path, event_type])
    return [str(r[0]) for r in rows]
