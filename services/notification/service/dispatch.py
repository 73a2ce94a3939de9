"""The dispatcher: sends what is stored, and records what happened, with events.

Each round claims due deliveries (FOR UPDATE SKIP LOCKED, with a lease: replicas never send the
same delivery at once, and one whose process died mid-send is tried again after the lease).
Inbox deliveries are recorded (and pushed to connected apps) at once, in the round's own
transaction. Outside ones (webhook, e-mail, SMS, voice) that quiet hours or the rate limit hold
back are recorded as held; the rest are sent concurrently in a task of their own, which records
their outcomes when the last one is back, so a slow endpoint never delays an inbox. Every outcome
is recorded with its events (NoticeSent, NoticeDelivered, NoticeFailed) in the outbox. A
temporary failure is retried with exponential backoff and jitter until CDSP_NOTIFY_MAX_ATTEMPTS;
a permanent one fails at once. Woken by NOTIFY when notices are stored (then lingering a few
milliseconds so a burst makes one round), and every half second for retries that have come due.

Delivery is at least once towards the outside world (a crash between a send and its record sends
again after the lease): every message carries its delivery id for receivers to deduplicate on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from datetime import UTC, datetime

from cdsp.events.v1 import notification_pb2 as nev
from notification.adapters import delivery_store
from notification.adapters.delivery_store import DELIVERED, FAILED, SENT, Claimed, Outcome
from notification.adapters.senders.base import Outgoing, PermanentFailure, TemporaryFailure
from notification.config import Notifier
from notification.domain import policy
from notification.metrics import CHANNEL_NAMES, DELIVERIES, DELIVERY_LATENCY, PENDING
from runtime.auth import SYSTEM
from runtime.db import UnitOfWork
from runtime.listen import listen_forever
from runtime.timestamps import to_timestamp

log = logging.getLogger("cdsp.notification.dispatch")
CHANNEL = "cdsp_deliveries"
INBOX_CHANNEL = "cdsp_inbox"
POLL_S = 0.5
LINGER_S = 0.005
# Accepted by the far end = delivered, for these: the recipient's own inbox, the partner's system.
DELIVERED_ON_ACCEPT = frozenset({"inbox", "webhook"})
MISSING_ADDRESS = {"sms": "the recipient has no phone number any more",
                   "voice": "the recipient has no phone number any more",
                   "email": "no e-mail address is registered for this recipient",
                   "webhook": "the webhook no longer exists"}


def webhook_document(c: Claimed) -> dict[str, object]:
    return {"delivery_id": c.delivery_id, "notice_id": c.notice_id,
            "source_event_id": c.source_event_id, "event_type": c.source_event_type,
            "template": c.template, "recipient_kind": c.recipient_kind,
            "recipient_id": c.recipient_id, "jurisdiction_path": c.jurisdiction_path,
            "urgent": c.urgent, "title": c.title, "body": c.body,
            "created_at": c.created_at.astimezone(UTC).isoformat()}


class Dispatcher:
    def __init__(self, notifier: Notifier) -> None:
        self.n = notifier
        self.s = notifier.settings
        self.wake = asyncio.Event()
        self.stopping = False
        self._sem = asyncio.Semaphore(self.s.concurrency)
        self._tasks: list[asyncio.Task[None]] = []
        self._sending: set[asyncio.Task[None]] = set()   # outside sends in flight
        self._in_flight = 0

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self.run(), name="dispatcher"),
                       asyncio.create_task(listen_forever(self.n.database_url, CHANNEL,
                                                          lambda _: self.wake.set()),
                                           name="dispatcher-listener")]

    async def stop(self, timeout: float = 15.0) -> None:
        """Lets the round in flight finish (its sends are bounded by their timeouts)."""
        self.stopping = True
        self.wake.set()
        if not self._tasks:
            return
        run, listener = self._tasks
        listener.cancel()
        try:
            await asyncio.wait_for(run, timeout)
        except TimeoutError:
            log.warning("dispatcher round did not finish in %.0fs", timeout)
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        if self._sending:
            await asyncio.wait(self._sending, timeout=timeout)
        for sender in self.n.senders.values():
            await sender.close()

    async def run(self) -> None:
        failures = 0
        while not self.stopping:
            try:
                handled = await self.round()
                failures = 0
            except Exception as exc:  # the database is away: back off, nothing is lost
                failures += 1
                delay = min(30.0, 0.5 * 2 ** min(failures, 6)) * random.uniform(0.5, 1.0)
                log.warning("dispatch round failed (%s); next in %.1fs", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                continue
            if handled < self.s.batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), POLL_S)
                    await asyncio.sleep(LINGER_S)
                self.wake.clear()

    async def round(self) -> int:
        remote_room = max(0, 2 * self.s.batch - self._in_flight)
        async with self.n.db.unit_of_work(SYSTEM) as uow:
            claimed = await delivery_store.claim(uow, self.s.batch, remote_room,
                                                 self.s.lease_s)
            limited = [(c.recipient_kind, c.recipient_id) for c in claimed
                       if c.channel in policy.RATE_LIMITED and not c.urgent]
            recent = await delivery_store.sent_last_hour(uow, limited)
        if not claimed:
            return 0
        now = datetime.now(UTC)
        settled: list[Outcome] = []      # recorded now: inbox deliveries and holds
        to_send: list[Claimed] = []
        for c in claimed:
            if c.channel == "inbox":
                settled.append(await self._send(c))
                continue
            key = (c.recipient_kind, c.recipient_id)
            until, why = policy.hold_until(c.channel, c.urgent, now, self.n.local_tz,
                                           self.s.quiet_hours, recent.get(key, []),
                                           self.s.rate_per_hour)
            if until is not None:
                settled.append(Outcome(c, 1, until, why, tried=False))
                DELIVERIES.labels(c.channel, "held").inc()
                continue
            if c.channel in policy.RATE_LIMITED and not c.urgent:
                recent.setdefault(key, []).append(now)  # counts for the rest of this batch
            to_send.append(c)
        if settled:
            await self._record(settled)
        if to_send:
            self._in_flight += len(to_send)
            task = asyncio.create_task(self._send_outside(to_send), name="dispatch-outside")
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
        return len(claimed)

    async def _send_outside(self, batch: list[Claimed]) -> None:
        try:
            outcomes = list(await asyncio.gather(*(self._send(c) for c in batch)))
            await self._record(outcomes)
        except Exception as exc:  # the database went away: the leases expire, they are retried
            log.warning("recording %d outside deliveries failed (%s); they will be retried "
                        "after their lease", len(batch), type(exc).__name__)
        finally:
            self._in_flight -= len(batch)

    async def _record(self, outcomes: list[Outcome]) -> None:
        async with self.n.db.unit_of_work(SYSTEM) as uow:
            await delivery_store.record(uow, outcomes)
            await self._record_events(uow, outcomes)

    async def _send(self, c: Claimed) -> Outcome:
        tries = c.attempts + 1
        try:
            async with self._sem:
                ref = await self._deliver(c, tries)
        except PermanentFailure as exc:
            return self._failed(c, exc.reason)
        except TemporaryFailure as exc:
            return self._retry_or_fail(c, exc.reason)
        except Exception as exc:  # a bug or an unforeseen library error: try again later
            log.exception("sending %s delivery %s failed unexpectedly", c.channel,
                          c.delivery_id)
            return self._retry_or_fail(c, f"unexpected {type(exc).__name__}")
        status = DELIVERED if c.channel in DELIVERED_ON_ACCEPT else SENT
        DELIVERIES.labels(c.channel, "sent").inc()
        DELIVERY_LATENCY.labels(c.channel).observe(
            (datetime.now(UTC) - c.created_at).total_seconds())
        return Outcome(c, status, None, "", ref)

    async def _deliver(self, c: Claimed, tries: int) -> str:
        sender = self.n.senders.get(c.channel)
        if sender is None:
            raise PermanentFailure(f"the {c.channel} channel is not configured")
        if c.channel != "inbox" and (not c.address or not c.webhook_active):
            raise PermanentFailure(MISSING_ADDRESS[c.channel])
        return await sender.send(Outgoing(
            c.delivery_id, c.notice_id, c.channel, c.address, c.title, c.body, c.urgent,
            c.flash_alert, c.easy_read, tries, c.secret,
            webhook_document(c) if c.channel == "webhook" else {}))

    def _retry_or_fail(self, c: Claimed, reason: str) -> Outcome:
        tries = c.attempts + 1
        if tries >= self.s.max_attempts:
            return self._failed(c, reason)
        DELIVERIES.labels(c.channel, "retry").inc()
        wait = policy.backoff(tries, self.s.retry_base_s, self.s.retry_cap_s)
        return Outcome(c, 1, datetime.now(UTC) + wait, reason)

    def _failed(self, c: Claimed, reason: str) -> Outcome:
        DELIVERIES.labels(c.channel, "failed").inc()
        log.warning("%s delivery %s failed after %d tries: %s", c.channel, c.delivery_id,
                    c.attempts + 1, reason)
        return Outcome(c, FAILED, None, reason)

    async def _record_events(self, uow: UnitOfWork, outcomes: list[Outcome]) -> None:
        counts: dict[str, int] = {}
        for o in outcomes:
            k = {SENT: 1, DELIVERED: 2, FAILED: 1}.get(o.status, 0)
            if k:
                counts[o.claimed.notice_id] = counts.get(o.claimed.notice_id, 0) + k
        versions = await delivery_store.bump_versions(uow, counts)
        now = to_timestamp(datetime.now(UTC))
        for o in outcomes:
            c = o.claimed
            if o.status not in (SENT, DELIVERED, FAILED):
                continue
            events: list[nev.NoticeSent | nev.NoticeDelivered | nev.NoticeFailed]
            if o.status == FAILED:
                events = [nev.NoticeFailed(notice_id=c.notice_id, channel=c.channel,
                                           attempts=c.attempts + 1, reason=o.error)]
            else:
                events = [nev.NoticeSent(notice_id=c.notice_id, source_event_id=c.source_event_id,
                                         recipient_kind=c.recipient_kind,
                                         recipient_id=c.recipient_id, channel=c.channel,
                                         sent_at=now)]
                if o.status == DELIVERED:
                    events.append(nev.NoticeDelivered(notice_id=c.notice_id, channel=c.channel,
                                                      delivered_at=now))
            for event in events:
                version = versions[c.notice_id]
                versions[c.notice_id] = version + 1
                uow.record(event, aggregate_type="notice", aggregate_id=c.notice_id,
                           version=version, jurisdiction_path=c.jurisdiction_path)
            if c.channel == "inbox" and o.status == DELIVERED:
                await uow.execute("SELECT pg_notify(%s, %s)", [INBOX_CHANNEL, json.dumps(
                    {"recipient_id": c.recipient_id, "notice_id": c.notice_id})])


async def refresh_pending(notifier: Notifier) -> dict[str, int]:
    """Sets the pending-deliveries gauge (a periodic job)."""
    async with notifier.db.unit_of_work(SYSTEM) as uow:
        counts = await delivery_store.pending_by_channel(uow)
    for channel in CHANNEL_NAMES:
        PENDING.labels(channel).set(counts.get(channel, 0))
    return counts
