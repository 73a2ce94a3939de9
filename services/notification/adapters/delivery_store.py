"""SQL for the dispatcher: claim due deliveries (with their text and address), record what
happened to them, and count what was recently sent to a recipient (for the rate limit)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from runtime.db import UnitOfWork

SENT, DELIVERED, FAILED = 2, 3, 4
PHONE_CHANNELS = frozenset({"sms", "voice"})

# FOR UPDATE SKIP LOCKED: replicas claim different rows. The claim pushes next_attempt_at a lease
# ahead, so a process that dies mid-send leaves the delivery to be tried again after the lease.
# Inbox deliveries and outside ones are claimed separately, so outside sends in flight (bounded
# by `remote`) never keep a notice from an inbox. Phone numbers are looked up afterwards by
# person id (`= ANY(uuid[])` is leakproof, so the primary key serves it under row-level
# security; a join through a text-to-uuid cast would not be, and scanned every recipient).
CLAIM = """
WITH due_inbox AS (
    SELECT delivery_id FROM deliveries
    WHERE status = 1 AND channel = 'inbox' AND next_attempt_at <= now()
    ORDER BY next_attempt_at LIMIT %(batch)s FOR UPDATE SKIP LOCKED),
due_outside AS (
    SELECT delivery_id FROM deliveries
    WHERE status = 1 AND channel <> 'inbox' AND next_attempt_at <= now()
    ORDER BY next_attempt_at LIMIT %(remote)s FOR UPDATE SKIP LOCKED),
due AS (SELECT delivery_id FROM due_inbox UNION ALL SELECT delivery_id FROM due_outside),
claimed AS (
    UPDATE deliveries d SET next_attempt_at = now() + make_interval(secs => %(lease)s),
                            updated_at = now()
    FROM due WHERE d.delivery_id = due.delivery_id
    RETURNING d.*)
SELECT c.delivery_id::text, c.notice_id::text, c.channel, c.recipient_kind, c.recipient_id,
       c.urgent, c.attempts, n.title, n.body, n.flash_alert, n.easy_read,
       n.source_event_id::text, n.source_event_type, n.template, n.jurisdiction_path,
       n.created_at,
       CASE WHEN c.channel = 'email' THEN coalesce(wc.email, '')
            WHEN c.channel = 'webhook' THEN coalesce(w.url, '')
            ELSE '' END,
       coalesce(w.secret, ''), coalesce(w.active, true)
FROM claimed c JOIN notices n ON n.notice_id = c.notice_id
LEFT JOIN worker_contacts wc ON c.channel = 'email' AND wc.recipient_id = c.recipient_id
LEFT JOIN webhooks w ON w.webhook_id = c.webhook_id
ORDER BY c.urgent DESC, c.next_attempt_at
"""
PHONES = ("SELECT r.person_id::text, c.phone, c.guardian_phone FROM recipients r "
          "JOIN recipient_contacts c ON c.person_id = r.person_id "
          "WHERE r.person_id = ANY(%s::uuid[]) AND NOT r.archived AND NOT c.erased")


@dataclass(frozen=True)
class Claimed:
    delivery_id: str
    notice_id: str
    channel: str
    recipient_kind: str
    recipient_id: str
    urgent: bool
    attempts: int            # tries before this one
    title: str
    body: str
    flash_alert: bool
    easy_read: bool
    source_event_id: str
    source_event_type: str
    template: str
    jurisdiction_path: str
    created_at: datetime
    address: str
    secret: str
    webhook_active: bool


@dataclass(frozen=True)
class Outcome:
    """What became of one claimed delivery."""

    claimed: Claimed
    status: int                       # 1 pending again (retry or held), 2, 3 or 4
    next_attempt_at: datetime | None  # for a retry or a hold
    error: str = ""
    provider_ref: str = ""
    tried: bool = True                # False when held: a hold is not a try


async def claim(uow: UnitOfWork, batch: int, remote: int, lease_s: int) -> list[Claimed]:
    """Up to `batch` inbox deliveries and `remote` outside ones that are due, with the text to
    send and the address to send it to."""
    rows = [Claimed(*r) for r in await uow.fetchall(  # type: ignore[arg-type]
        CLAIM, {"batch": batch, "remote": remote, "lease": lease_s})]
    people = list({c.recipient_id for c in rows if c.channel in PHONE_CHANNELS})
    if not people:
        return rows
    phones = {str(p): (str(own), str(guardian))
              for p, own, guardian in await uow.fetchall(PHONES, [people])}
    return [replace(c, address=_phone(c, phones)) if c.channel in PHONE_CHANNELS else c
            for c in rows]


def _phone(c: Claimed, phones: dict[str, tuple[str, str]]) -> str:
    own, guardian = phones.get(c.recipient_id, ("", ""))
    return guardian if c.recipient_kind == "guardian" else own


async def sent_last_hour(uow: UnitOfWork, keys: list[tuple[str, str]]
                         ) -> dict[tuple[str, str], list[datetime]]:
    """When SMS, voice and e-mail notices were sent to these (kind, recipient) in the last
    hour, urgent ones excepted."""
    if not keys:
        return {}
    rows = await uow.fetchall(
        "SELECT recipient_kind, recipient_id, sent_at FROM deliveries "
        "WHERE recipient_id = ANY(%s) AND sent_at > now() - interval '1 hour' "
        "AND channel IN ('sms', 'voice', 'email') AND NOT urgent",
        [list({k[1] for k in keys})])
    found: dict[tuple[str, str], list[datetime]] = {}
    for kind, who, at in rows:
        found.setdefault((kind, who), []).append(at)
    return found


async def record(uow: UnitOfWork, outcomes: list[Outcome]) -> None:
    """Writes the outcomes in one statement."""
    if not outcomes:
        return
    await uow.execute(
        "UPDATE deliveries d SET status = o.status, "
        "attempts = d.attempts + CASE WHEN o.tried THEN 1 ELSE 0 END, "
        "next_attempt_at = coalesce(o.next_at, d.next_attempt_at), last_error = o.error, "
        "provider_ref = CASE WHEN o.ref <> '' THEN o.ref ELSE d.provider_ref END, "
        "sent_at = CASE WHEN o.status IN (2, 3) THEN now() ELSE d.sent_at END, "
        "delivered_at = CASE WHEN o.status = 3 THEN now() ELSE d.delivered_at END, "
        "updated_at = now() "
        "FROM unnest(%s::uuid[], %s::smallint[], %s::boolean[], %s::timestamptz[], %s::text[], "
        "%s::text[]) AS o(id, status, tried, next_at, error, ref) WHERE d.delivery_id = o.id",
        [[o.claimed.delivery_id for o in outcomes], [o.status for o in outcomes],
         [o.tried for o in outcomes], [o.next_attempt_at for o in outcomes],
         [o.error for o in outcomes], [o.provider_ref for o in outcomes]])


async def bump_versions(uow: UnitOfWork, counts: dict[str, int]) -> dict[str, int]:
    """Reserves `count` event versions per notice; returns the first reserved one."""
    if not counts:
        return {}
    ids = list(counts)
    rows = await uow.fetchall(
        "UPDATE notices n SET version = n.version + c.k FROM unnest(%s::uuid[], %s::int[]) "
        "AS c(id, k) WHERE n.notice_id = c.id RETURNING n.notice_id::text, n.version - c.k + 1",
        [ids, [counts[i] for i in ids]])
    return {str(r[0]): int(r[1]) for r in rows}


async def pending_by_channel(uow: UnitOfWork) -> dict[str, int]:
    rows = await uow.fetchall("SELECT channel, count(*) FROM deliveries WHERE status = 1 "
                              "GROUP BY channel")
    return {str(c): int(n) for c, n in rows}
