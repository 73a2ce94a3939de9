"""The worker's inbox: the notices of the inboxes they read (their own, and the teams' of the
jurisdictions they cover: a red warning goes to the grid's team), newest first, and the same
arriving live as server-sent events relayed from the notification service's StreamInbox.

The event stream (GET /inbox/stream) is opened by console.js on every page of a signed-in
worker: each new notice is an `event: notice` with a JSON body the script shows and announces
(urgent ones through the role=alert region), a comment every 15 s keeps proxies from closing the
connection, `event: end` tells the browser to stop when the session ends (or the worker may read
no inbox), and `retry: 10000` before closing makes it come back later when the notification
service is down. A browser that leaves cancels the service's streams at once (the gauge
cdsp_console_inbox_streams counts the open ones)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio
from prometheus_client import Counter, Gauge
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from cdsp.notification.v1 import notification_pb2 as npb
from cdsp.registry.v1 import registry_pb2 as rpb
from console.adapters.backends import CallFailed, SessionEnded
from console.adapters.session import Session
from console.i18n import translate
from console.web import call, console, current_session, lang, local_time, render, session, signed_in

INBOX_STREAMS = Gauge("cdsp_console_inbox_streams",
                      "Live inbox streams (server-sent events) the console holds open")
INBOX_STREAMS_ENDED = Counter("cdsp_console_inbox_streams_ended",
                              "Live inbox streams ended, by how", ["outcome"])
HEARTBEAT_S = 15.0
RETRY_MS = 10_000
PAGE_SIZE = 50
MAX_INBOXES = 8  # the streams one browser may hold open at the notification service


@dataclass(frozen=True)
class NoticeView:
    notice_id: str
    title: str
    body: str
    meta: str
    urgent: bool


def inboxes(signed: Session) -> list[str]:
    """The inboxes a worker reads: their own (their subject: what they get as a liaison) and
    those of the teams of the jurisdictions they cover (a path: what a grid's team gets)."""
    return list(dict.fromkeys([signed.subject, *signed.scopes]))[:MAX_INBOXES]


def is_urgent(notice: npb.Notice) -> bool:
    """Urgent notices (a red warning, a missed deadline, ...) are sent at once, quiet hours or
    not, and are announced at once; a flashing alert is urgent for the reader too."""
    return notice.urgency == npb.NOTICE_URGENCY_URGENT or notice.flash_alert


async def place_names(request: Request) -> dict[str, str]:
    """The names of the worker's own jurisdictions, by path (a team's inbox is a path)."""
    try:
        reply = await call(request, "registry", "ListJurisdictions",
                           rpb.ListJurisdictionsRequest())
    except CallFailed:
        return {}  # the inbox works without the names: the code stands in
    return {j.path: j.name for j in reply.jurisdictions}


def view(request: Request, language: str, notice: npb.Notice, subject: str,
         names: dict[str, str]) -> NoticeView:
    urgent = is_urgent(notice)
    who = notice.recipient_id
    if who == subject:
        to = translate(language, "inbox.to_me")
    else:
        place = names.get(who) or who.rstrip("/").rpartition("/")[2] or who
        to = translate(language, "inbox.to_team", place=place)
    meta = " · ".join(part for part in (
        local_time(request, notice.created_at),
        translate(language, "inbox.urgent" if urgent else "inbox.normal"), to) if part)
    return NoticeView(notice.notice_id, notice.title, notice.body, meta, urgent)


@signed_in
async def inbox_page(request: Request) -> Response:
    signed = session(request)
    replies = await asyncio.gather(*(
        call(request, "notification", "ListInbox",
             npb.ListInboxRequest(recipient_id=who, page_size=PAGE_SIZE))
        for who in inboxes(signed)))
    found = [notice for reply in replies for notice in reply.notices]
    found.sort(key=lambda n: (n.created_at.seconds, n.created_at.nanos, n.notice_id),
               reverse=True)
    names = await place_names(request)
    language = lang(request)
    shown = [view(request, language, n, signed.subject, names) for n in found[:PAGE_SIZE]]
    return render(request, "inbox.html", notices=shown, page_size=PAGE_SIZE)


def frame(event: str, data: object) -> str:
    """One server-sent event (JSON never holds a raw line break, so one data line)."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def events(request: Request, signed: Session) -> AsyncIterator[str]:
    """The worker's new notices from all their inboxes, as server-sent events, until the
    browser leaves, the session ends or the notification service goes."""
    language = lang(request)
    backends = console(request).backends
    queue: asyncio.Queue[tuple[str, npb.Notice | None]] = asyncio.Queue()

    async def relay(who: str) -> None:
        outcome = "retry"  # the service ended the stream: it is stopping; come back later
        try:
            stream = backends.stream(signed.token, "notification", "StreamInbox",
                                     npb.StreamInboxRequest(recipient_id=who))
            async with contextlib.aclosing(stream) as notices:  # type: ignore[type-var]
                async for notice in notices:
                    await queue.put(("notice", notice))
        except SessionEnded:
            outcome = "end"
        except CallFailed as failed:
            outcome = "retry" if failed.unavailable else "end"
        await queue.put((outcome, None))

    INBOX_STREAMS.inc()
    outcome = "closed"  # the browser left (or the console stops)
    request.state.session = signed  # place_names calls with the worker's token
    relays = [asyncio.create_task(relay(who), name="inbox-relay") for who in inboxes(signed)]
    try:
        try:
            names = await place_names(request)
        except SessionEnded:
            outcome = "end"
            yield frame("end", {})
            return
        yield ": inbox\n\n"
        while True:
            left = signed.expires_at - time.time()
            if left <= 0:
                outcome = "end"
                yield frame("end", {})
                return
            try:
                kind, notice = await asyncio.wait_for(queue.get(), min(HEARTBEAT_S, left))
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if notice is not None:
                shown = view(request, language, notice, signed.subject, names)
                yield frame("notice", {
                    "title": shown.title, "body": shown.body, "meta": shown.meta,
                    "urgent": shown.urgent,
                    "announce": translate(language, "inbox.announce_urgent" if shown.urgent
                                          else "inbox.announce", title=shown.title),
                    "count_label": translate(language, "inbox.count_label")})
            elif kind == "end":
                outcome = "end"
                yield frame("end", {})
                return
            else:
                outcome = "retry"
                yield f"retry: {RETRY_MS}\n\n"
                return
    finally:
        INBOX_STREAMS.dec()
        INBOX_STREAMS_ENDED.labels(outcome).inc()
        for task in relays:
            task.cancel()  # each cancels its gRPC call on the way out
        with anyio.CancelScope(shield=True), anyio.move_on_after(5):
            await asyncio.gather(*relays, return_exceptions=True)


async def inbox_stream(request: Request) -> Response:
    """Not `signed_in`: without a session the answer is 401 (EventSource stops on it), never a
    redirect to the sign-in page."""
    signed = current_session(request)
    if signed is None:
        return PlainTextResponse(translate(lang(request), "inbox.stream_signed_out"),
                                 status_code=401)
    return StreamingResponse(events(request, signed), media_type="text/event-stream",
                             headers={"x-accel-buffering": "no"})


routes = [Route("/inbox", inbox_page, methods=["GET"]),
          Route("/inbox/stream", inbox_stream, methods=["GET"])]
