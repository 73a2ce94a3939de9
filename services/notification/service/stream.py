"""Pushes new inbox notices to connected apps. One LISTEN connection per process receives the
dispatcher's `cdsp_inbox` notifications (from any replica) and hands each notice id to the
queues of the streams open for that recipient. A slow app whose queue is full loses the oldest
pushes, never the notices: ListInbox has them all."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator

from notification.metrics import STREAMS
from runtime.listen import listen_forever

log = logging.getLogger("cdsp.notification.stream")
INBOX_CHANNEL = "cdsp_inbox"
QUEUE_SIZE = 100


class InboxHub:
    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self._queues: dict[str, set[asyncio.Queue[str]]] = {}
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(listen_forever(self.url, INBOX_CHANNEL, self._on_notify),
                                         name="inbox-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for queues in self._queues.values():
            for queue in queues:
                queue.put_nowait("")  # wakes the stream, which then ends

    def _on_notify(self, payload: str | None) -> None:
        if payload is None:
            self.connected.set()
            return
        try:
            note = json.loads(payload)
            recipient, notice_id = str(note["recipient_id"]), str(note["notice_id"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed inbox notification")
            return
        for queue in self._queues.get(recipient, ()):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(notice_id)

    @contextlib.asynccontextmanager
    async def subscribe(self, recipient_id: str) -> AsyncIterator[asyncio.Queue[str]]:
        queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_SIZE)
        self._queues.setdefault(recipient_id, set()).add(queue)
        STREAMS.inc()
        try:
            yield queue
        finally:
            STREAMS.dec()
            queues = self._queues.get(recipient_id, set())
            queues.discard(queue)
            if not queues:
                self._queues.pop(recipient_id, None)
