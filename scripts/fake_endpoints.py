"""Local stand-ins for the far ends of the notification channels: real servers on 127.0.0.1 (an
ephemeral port unless one is given), used by the tests, the demo and the benchmarks.

    WebhookReceiver  an aiohttp server that records every request (headers, raw body, parsed
                     JSON, time); can fail the next n requests, answer slowly, or answer a fixed
                     status; checks X-CDSP-Signature itself when given the secret
    SmsProvider      an aiohttp server implementing the SMS/voice provider API documented in
                     notification/adapters/senders/provider.py (auth, validation -> 400,
                     idempotency by key, scripted failures), recording accepted messages
    SmtpSink         an aiosmtpd Controller (its own thread and loop) storing every message,
                     able to answer 451 or 550 for the next n messages

All three have ``async start()``, ``async stop()`` and ``async wait_for(count, timeout)``; the
SMTP server runs in a thread, its start/stop are awaited in a worker thread.

As a process (for the demo), running all three until SIGTERM:

    python scripts/fake_endpoints.py --webhook-port N --sms-port N --smtp-port N --api-key K
                                     [--webhook-secret S] [--log-dir DIR]

prints one JSON line (webhook_url, sms_base_url, smtp_host, smtp_port, pid) once ready, and
appends what arrives as JSON lines to DIR/webhook.jsonl, DIR/sms.jsonl and DIR/email.jsonl.
Nothing else goes to stdout; stderr gets one masked summary line per item.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import hashlib
import hmac
import json
import os
import re
import secrets
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Sequence
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from runtime.logs import mask_personal_data

E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
CN_NATIONAL = re.compile(r"^(?:1[3-9][0-9]{9}|[2-9][0-9]{8,10})$")  # mobile or landline
TEXT_LIMITS = {"sms": 1000, "voice": 2000}
SMTP_REPLIES = {451: "451 4.3.0 Try again later", 550: "550 5.1.1 Mailbox unavailable"}


def _append(path: Path | None, lock: threading.Lock, entry: dict[str, Any]) -> None:
    if path is None:
        return
    with lock, path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(entry, ensure_ascii=False) + "\n")


def _note(text: str) -> None:
    print(mask_personal_data(text), file=sys.stderr, flush=True)


async def _wait(items: Sequence[Any], lock: threading.Lock, count: int, timeout: float,
                what: str) -> list[Any]:
    deadline = time.monotonic() + timeout
    while len(items) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: expected {count} within {timeout}s, got {len(items)}")
        await asyncio.sleep(0.01)
    with lock:
        return list(items)


class _HttpServer:
    """An aiohttp application on host:port (0 = ephemeral) with scripted failures."""

    def __init__(self, host: str, port: int, log_path: Path | None) -> None:
        self.host, self.port, self.log_path = host, port, log_path
        self.delay_s = 0.0
        self._failures: list[int] = []
        self._lock = threading.Lock()
        self._runner: web.AppRunner | None = None

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def fail_next(self, n: int, status: int = 503) -> None:
        """The next ``n`` requests are answered with ``status``."""
        self._failures.extend([status] * n)

    def set_delay(self, seconds: float) -> None:
        """Every later request is answered only after ``seconds``."""
        self.delay_s = seconds

    def _scripted_failure(self) -> int | None:
        return self._failures.pop(0) if self._failures else None

    async def start(self) -> None:
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5,
                                     handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


# --- webhooks --------------------------------------------------------------------------------
@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any                     # the parsed body, None when it is not JSON
    received_at: float            # time.time()
    status: int                   # what the receiver answered

    def signature_valid(self, secret: str, tolerance_s: float = 300) -> bool:
        """This receiver's own check of X-CDSP-Signature (independent of the sender's code)."""
        stamp = self.headers.get("X-CDSP-Timestamp", "")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > tolerance_s:
            return False
        mac = hmac.new(secret.encode(), stamp.encode() + b"." + self.body, hashlib.sha256)
        return hmac.compare_digest("sha256=" + mac.hexdigest(),
                                   self.headers.get("X-CDSP-Signature", ""))


class WebhookReceiver(_HttpServer):
    """Answers 200 to any path (``url`` ends in /hook), unless scripted otherwise. With a
    ``secret``, a request whose signature does not verify is answered 401."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, secret: str = "",
                 log_path: Path | None = None) -> None:
        super().__init__(host, port, log_path)
        self.secret = secret
        self.status = 200
        self.received: list[ReceivedRequest] = []

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hook"

    def respond_with(self, status: int) -> None:
        """Every later request (after any scripted failures) is answered with ``status``."""
        self.status = status

    def verified(self, secret: str) -> bool:
        """True when something arrived and every request carried a valid signature."""
        return bool(self.received) and all(r.signature_valid(secret) for r in self.received)

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedRequest]:
        return await _wait(self.received, self._lock, count, timeout, "webhook requests")

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{tail:.*}", self._handle)

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        status = self._scripted_failure() or self.status
        record = ReceivedRequest(request.method, request.path, dict(request.headers), body,
                                 parsed, time.time(), status)
        if self.secret and not record.signature_valid(self.secret):
            record.status = status = 401
        with self._lock:
            self.received.append(record)
        _append(self.log_path, self._lock, {
            "time": record.received_at, "path": record.path, "status": status,
            "headers": {k: v for k, v in record.headers.items() if k.startswith("X-CDSP-")},
            "body": body.decode("utf-8", errors="replace")})
        _note(f"webhook {request.method} {request.path} -> {status}")
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        headers = {"Location": "https://elsewhere.invalid/"} if 300 <= status < 400 else None
        return web.Response(status=status, headers=headers, text="ok" if status < 300 else "")


# --- the SMS / voice provider ----------------------------------------------------------------
@dataclass
class ProviderMessage:
    kind: str
    to: str
    text: str
    flash: bool
    priority: str
    reference: str
    message_id: str
    idempotency_key: str
    received_at: float


def _invalid(body: Any) -> tuple[str, str] | None:
    """(error, field) for a request the provider refuses with 400, None when it is valid."""
    if not isinstance(body, dict):
        return "invalid_json", ""
    kind = body.get("kind")
    if kind not in TEXT_LIMITS:
        return "invalid_kind", "kind"
    to = body.get("to")
    if not isinstance(to, str) or not E164.match(to) or (
            to.startswith("+86") and not CN_NATIONAL.match(to[3:])):
        return "invalid_number", "to"
    text = body.get("text")
    if not isinstance(text, str) or not 1 <= len(text) <= TEXT_LIMITS[kind]:
        return "invalid_text", "text"
    if not isinstance(body.get("flash", False), bool):
        return "invalid_flash", "flash"
    if body.get("priority", "normal") not in ("urgent", "normal"):
        return "invalid_priority", "priority"
    reference = body.get("reference")
    if not isinstance(reference, str) or not 1 <= len(reference) <= 128:
        return "invalid_reference", "reference"
    return None


class SmsProvider(_HttpServer):
    """The provider API at ``url`` (the base URL); ``messages`` holds each accepted message once,
    ``attempts`` counts every POST to /v1/messages."""

    def __init__(self, api_key: str, host: str = "127.0.0.1", port: int = 0,
                 log_path: Path | None = None) -> None:
        super().__init__(host, port, log_path)
        self.api_key = api_key
        self.messages: list[ProviderMessage] = []
        self.attempts = 0
        self._by_key: dict[str, str] = {}

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[ProviderMessage]:
        return await _wait(self.messages, self._lock, count, timeout, "provider messages")

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/messages", self._handle)

    async def _handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        auth = request.headers.get("Authorization", "")
        if not hmac.compare_digest(auth.encode(), f"Bearer {self.api_key}".encode()):
            return web.json_response({"error": "unauthorized"}, status=401)
        failure = self._scripted_failure()
        if failure is not None:
            return web.json_response({"error": "scripted_failure"}, status=failure)
        key = request.headers.get("Idempotency-Key", "")
        if not (1 <= len(key) <= 128 and key.isascii() and key.isprintable()):
            return web.json_response({"error": "missing_idempotency_key",
                                      "field": "Idempotency-Key"}, status=400)
        if key in self._by_key:
            return web.json_response({"message_id": self._by_key[key], "status": "accepted"},
                                     status=202, headers={"Idempotent-Replayed": "true"})
        try:
            body = json.loads(await request.read())
        except ValueError:
            body = None
        problem = _invalid(body)
        if problem is not None:
            return web.json_response({"error": problem[0], "field": problem[1]}, status=400)
        message = ProviderMessage(body["kind"], body["to"], body["text"],
                                  bool(body.get("flash", False)),
                                  body.get("priority", "normal"), body["reference"],
                                  "m-" + secrets.token_hex(8), key, time.time())
        self._by_key[key] = message.message_id
        with self._lock:
            self.messages.append(message)
        _append(self.log_path, self._lock, asdict(message))
        _note(f"provider {message.kind} accepted as {message.message_id}")  # never the number
        return web.json_response({"message_id": message.message_id, "status": "accepted"},
                                 status=202)


# --- e-mail ----------------------------------------------------------------------------------
@dataclass
class ReceivedEmail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage         # parsed with email.policy.default
    raw: bytes
    queue_id: str
    received_at: float


class _EphemeralController(Controller):
    """aiosmtpd's threaded Controller, able to bind port 0 (the chosen port lands in .port)."""

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        return self._bind()

    async def _bind(self) -> asyncio.AbstractServer:
        server = await self.loop.create_server(self._factory_invoker, host=self.hostname,
                                               port=self.port, ssl=self.ssl_context)
        self.port = server.sockets[0].getsockname()[1]
        return server


class SmtpSink:
    """An SMTP server storing what it receives in ``messages``; ``fail_next(n, 451)`` answers
    the next n messages with 451 (``stage="rcpt"``: at RCPT TO, else after DATA)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 log_path: Path | None = None) -> None:
        self.host, self.port, self.log_path = host, port, log_path
        self.messages: list[ReceivedEmail] = []
        self._failures: list[tuple[int, str]] = []
        self._lock = threading.Lock()
        self._controller: _EphemeralController | None = None

    def fail_next(self, n: int, code: int = 451, stage: str = "data") -> None:
        if stage not in ("rcpt", "data"):
            raise ValueError("stage must be 'rcpt' or 'data'")
        with self._lock:
            self._failures.extend([(code, stage)] * n)

    def _failure(self, stage: str) -> str | None:
        with self._lock:
            if self._failures and self._failures[0][1] == stage:
                code = self._failures.pop(0)[0]
                return SMTP_REPLIES.get(code, f"{code} Scripted failure")
        return None

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        failure = self._failure("rcpt")
        if failure is not None:
            return failure
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        failure = self._failure("data")
        if failure is not None:
            return failure
        raw = envelope.original_content or b""
        # SMTP carries CRLF line ends; parsed with LF ones so bodies read as they were written
        parsed = email.message_from_bytes(raw.replace(b"\r\n", b"\n"),
                                          policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        queue_id = secrets.token_hex(6).upper()
        item = ReceivedEmail(envelope.mail_from or "", list(envelope.rcpt_tos), parsed, raw,
                             queue_id, time.time())
        with self._lock:
            self.messages.append(item)
        body = parsed.get_body(("plain",))
        _append(self.log_path, self._lock, {
            "time": item.received_at, "mail_from": item.mail_from, "rcpt_tos": item.rcpt_tos,
            "subject": str(parsed["Subject"] or ""), "message_id": str(parsed["Message-ID"]),
            "x_cdsp_delivery": str(parsed["X-CDSP-Delivery"] or ""),
            "x_priority": str(parsed["X-Priority"] or ""), "queue_id": queue_id,
            "body": body.get_content() if isinstance(body, EmailMessage) else ""})
        _note(f"smtp message queued as {queue_id}")
        return f"250 OK: queued as {queue_id}"

    async def start(self) -> None:
        self._controller = _EphemeralController(self, hostname=self.host, port=self.port,
                                                 server_hostname="fake-smtp.localhost")
        await asyncio.to_thread(self._controller.start)
        self.port = self._controller.port

    async def stop(self) -> None:
        if self._controller is not None:
            await asyncio.to_thread(self._controller.stop)
            self._controller = None

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedEmail]:
        return await _wait(self.messages, self._lock, count, timeout, "e-mails")


# --- as a process ----------------------------------------------------------------------------
async def serve(args: argparse.Namespace) -> None:
    log_dir = Path(args.log_dir) if args.log_dir else None
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)

    def log(name: str) -> Path | None:
        return None if log_dir is None else log_dir / name

    webhook = WebhookReceiver(args.host, args.webhook_port, args.webhook_secret,
                              log("webhook.jsonl"))
    provider = SmsProvider(args.api_key, args.host, args.sms_port, log("sms.jsonl"))
    smtp = SmtpSink(args.host, args.smtp_port, log("email.jsonl"))
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await webhook.start()
    await provider.start()
    await smtp.start()
    try:
        print(json.dumps({"webhook_url": webhook.url, "sms_base_url": provider.url,
                          "smtp_host": smtp.host, "smtp_port": smtp.port,
                          "log_dir": str(log_dir or ""), "pid": os.getpid()}), flush=True)
        await stopping.wait()
    finally:
        await smtp.stop()
        await provider.stop()
        await webhook.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--webhook-port", type=int, default=0)
    parser.add_argument("--sms-port", type=int, default=0)
    parser.add_argument("--smtp-port", type=int, default=0)
    parser.add_argument("--api-key", default="dev-provider-key")
    parser.add_argument("--webhook-secret", default="",
                        help="answer 401 to requests whose signature does not verify")
    parser.add_argument("--log-dir", default="")
    asyncio.run(serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
