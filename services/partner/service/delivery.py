"""The delivery loop both channels share: claim due heads of subjects, send them, record each
outcome (delivered; retried with exponential backoff and jitter; dead-lettered after
CDSP_PARTNER_MAX_ATTEMPTS or at once on a permanent refusal). Woken by NOTIFY when the fan-out
stores deliveries, and every half second for retries come due. A paused subscriber's deliveries
are not claimed (they wait, in order); a revoked one's were dropped when it was revoked, and a
claim only takes active subscribers, so nothing more leaves once the revocation committed (a
send already in flight at that moment finishes).

At least once: a crash between a send and its record sends again after the lease; receivers
de-duplicate on the event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable

from partner.adapters import delivery_store
from partner.adapters.delivery_store import Claimed
from partner.config import Partners
from partner.metrics import DELIVERED, FAILED, OLDEST, UNDELIVERED
from runtime.auth import SYSTEM
from runtime.listen import listen_forever

log = logging.getLogger("cdsp.partner.delivery")
POLL_S = 0.5


class Refused(Exception):
    """The far end or the rules refuse for good: dead-letter now."""


class TryLater(Exception):
    """Worth another attempt later."""


# Sends one claimed delivery; raises Refused or TryLater.
Send = Callable[[Claimed], Awaitable[None]]


class DeliveryWorker:
    def __init__(self, p: Partners, delivery: str, send: Send,
                 close: Callable[[], Awaitable[None]] | None = None) -> None:
        self.p = p
        self.delivery = delivery
        self.send = send
        self.close = close
        self.wake = asyncio.Event()
        self.stopping = False
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self.run(), name=f"partner-{self.delivery}"),
                       asyncio.create_task(listen_forever(self.p.database_url,
                                                          delivery_store.CHANNEL,
                                                          lambda _: self.wake.set()),
                                           name=f"partner-{self.delivery}-listener")]

    async def stop(self) -> None:
        self.stopping = True
        self.wake.set()
        for task in self._tasks[1:]:
            task.cancel()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(self._tasks[0], 15)
        for task in self._tasks[1:]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.close is not None:
            await self.close()

    async def run(self) -> None:
        failures = 0
        while not self.stopping:
            try:
                handled = await self.round()
                failures = 0
            except Exception as exc:  # the database is away: back off, nothing is lost
                failures += 1
                delay = min(30.0, 0.5 * 2 ** min(failures, 6)) * random.uniform(0.5, 1.0)
                log.warning("%s round failed (%s); next in %.1fs", self.delivery,
                            type(exc).__name__, delay)
                await asyncio.sleep(delay)
                continue
            if handled < self.p.settings.batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), POLL_S)
                self.wake.clear()

    async def round(self) -> int:
        s = self.p.settings
        async with self.p.db.unit_of_work(SYSTEM) as uow:
            claimed = await delivery_store.claim(uow, self.delivery, s.batch, s.lease_s)
        if not claimed:
            return 0
        outcomes = await asyncio.gather(*(self._attempt(c) for c in claimed))
        async with self.p.db.unit_of_work(SYSTEM) as uow:
            done = [c.delivery_id for c, error in zip(claimed, outcomes, strict=True)
                    if error is None]
            if done:
                await delivery_store.delivered(uow, done)
            for c, error in zip(claimed, outcomes, strict=True):
                if error is None:
                    DELIVERED.labels(c.code, self.delivery).inc()
                    continue
                refused, reason = error
                dead = refused or c.attempts + 1 >= s.max_attempts
                delay = s.backoff_s(c.attempts + 1) * random.uniform(0.8, 1.0)
                await delivery_store.failed(uow, c.delivery_id, reason, delay, dead)
                FAILED.labels(c.code, self.delivery, "dead_lettered" if dead else "retry").inc()
                if dead:
                    log.warning("delivery %s to %s dead-lettered after %d attempts: %s",
                                c.delivery_id, c.code, c.attempts + 1, reason)
        return len(claimed)

    async def _attempt(self, c: Claimed) -> tuple[bool, str] | None:
        try:
            await self.send(c)
        except Refused as exc:
            return True, str(exc)
        except TryLater as exc:
            return False, str(exc)
        except Exception as exc:  # a bug or an unforeseen failure: retried, then dead
            log.exception("delivery %s failed unexpectedly", c.delivery_id)
            return False, f"internal error: {type(exc).__name__}"
        return None


async def refresh_gauges(p: Partners) -> int:
    async with p.db.unit_of_work(SYSTEM) as uow:
        rows = await delivery_store.backlog(uow)
    for code, waiting, oldest in rows:
        UNDELIVERED.labels(code).set(waiting)
        OLDEST.labels(code).set(oldest)
    return len(rows)
