"""Helpers for notification tests: the outside endpoints (webhook receiver, SMS/voice provider,
SMTP relay) as real local servers on a thread of their own, publishing aid events straight to
the broker, and reading the notification service's database."""

from __future__ import annotations

import asyncio
import itertools
import random
import threading
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import psycopg
from google.protobuf.message import Message
from kafka import KafkaProducer

from cdsp.notification.v1 import notification_pb2_grpc
from fake_endpoints import SmsProvider, SmtpSink, WebhookReceiver
from runtime.events import build_envelope
from runtime.grpc_client import sync_channel
from tests.helpers import Tree, token

T = TypeVar("T")
PROVIDER_KEY = "test-provider-key"
_phones = itertools.count(random.randrange(1000, 9000) * 10000)


def unique_phone() -> str:
    """A mainland mobile number no other test uses, so each test finds its own messages."""
    return f"137{next(_phones) % 10**8:08d}"


def unique_name(tag: str) -> str:
    """A name no other test uses, to look for in bytes (topics, webhook bodies)."""
    return f"{tag}{uuid.uuid4().hex[:8]}"


class Endpoints:
    """The three outside servers, on their own event loop thread (tests are synchronous)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="endpoints",
                                        daemon=True)
        self._thread.start()
        self.webhook = WebhookReceiver()
        self.sms = SmsProvider(PROVIDER_KEY)
        self.smtp = SmtpSink()
        for server in (self.webhook, self.sms, self.smtp):
            self.call(server.start())

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def do(self, fn: Callable[[], object]) -> None:
        """Runs fn on the servers' loop (scripting failures without racing a request)."""
        async def run() -> None:
            fn()
        self.call(run())

    @property
    def env(self) -> dict[str, str]:
        return {"CDSP_SMS_PROVIDER_URL": self.sms.url, "CDSP_SMS_PROVIDER_KEY": PROVIDER_KEY,
                "CDSP_SMTP_HOST": "127.0.0.1", "CDSP_SMTP_PORT": str(self.smtp.port)}

    def close(self) -> None:
        for server in (self.webhook, self.sms, self.smtp):
            self.call(server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)


def wait_until(check: Callable[[], T], what: str, timeout: float = 20.0,
               every: float = 0.05) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"{what}: not so after {timeout}s")


def notify_stub(addr: str, tok: str) -> notification_pb2_grpc.NotificationServiceStub:
    return notification_pb2_grpc.NotificationServiceStub(sync_channel(addr, tok))


def notify_admin(tree: Tree, addr: str) -> notification_pb2_grpc.NotificationServiceStub:
    return notify_stub(addr, token("city_admin", [tree.city_path], subject="city-admin"))


class ServiceDb:
    """A service's database, read as the service's own role across all jurisdictions."""

    def __init__(self, url: str) -> None:
        self.url = url

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url, autocommit=True) as conn, conn.transaction():
            conn.execute("SELECT set_config('cdsp.scope', '/%', true)")
            return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]

    def wait_recipients(self, person_ids: list[str], timeout: float = 30.0) -> None:
        wait_until(lambda: self.rows("SELECT count(*) FROM recipients WHERE person_id = "
                                     "ANY(%s::uuid[])", [person_ids])[0][0] == len(person_ids),
                   f"persons {person_ids} projected into notification", timeout)

    def deliveries(self, source_event_id: str) -> list[tuple[Any, ...]]:
        """(recipient_kind, recipient_id, channel, status, attempts, last_error) per delivery."""
        return self.rows(
            "SELECT n.recipient_kind, n.recipient_id, d.channel, d.status, d.attempts, "
            "d.last_error FROM deliveries d JOIN notices n USING (notice_id) "
            "WHERE n.source_event_id = %s ORDER BY 1, 2, 3", [source_event_id])

    def notices(self, source_event_id: str) -> list[tuple[Any, ...]]:
        """(recipient_kind, recipient_id, undeliverable_reason, easy_read, flash_alert)."""
        return self.rows(
            "SELECT recipient_kind, recipient_id, undeliverable_reason, easy_read, flash_alert "
            "FROM notices WHERE source_event_id = %s ORDER BY 1, 2", [source_event_id])

    def settled(self, source_event_id: str, count: int | None = None) -> list[tuple[Any, ...]]:
        """Waits until the event's deliveries are no longer pending, and returns them."""
        def done() -> list[tuple[Any, ...]]:
            found = self.deliveries(source_event_id)
            if not found or (count is not None and len(found) != count):
                return []
            return found if all(d[3] != 1 for d in found) else []
        try:
            return wait_until(done, f"deliveries of event {source_event_id} settled")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; they are {self.deliveries(source_event_id)}") from None


class AidEvents:
    """Publishes events on cdsp.aid.v1 as the aid service's outbox would."""

    def __init__(self, bootstrap: str) -> None:
        self.producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")

    def publish(self, payload: Message, path: str, aggregate_id: str, version: int = 1,
                envelope_bytes: bytes | None = None) -> str:
        envelope = build_envelope(payload, aggregate_type="aid_case", aggregate_id=aggregate_id,
                                  version=version, jurisdiction_path=path, producer="aid",
                                  actor="tester", request_id="test")
        raw = envelope_bytes or envelope.SerializeToString()
        self.producer.send("cdsp.aid.v1", key=aggregate_id.encode(), value=raw).get(10)
        return envelope.event_id

    def send_raw(self, key: str, raw: bytes) -> None:
        self.producer.send("cdsp.aid.v1", key=key.encode(), value=raw).get(10)

    def close(self) -> None:
        self.producer.close()


NotificationDb = ServiceDb


def contact_row(db: ServiceDb, person_id: str) -> tuple[Any, ...] | None:
    """(name, phone, preferred_channel, guardian_name, guardian_phone, erased, version) of the
    person's contact in the notification service, None before it arrived."""
    rows = db.rows("SELECT name, phone, preferred_channel, guardian_name, guardian_phone, "
                   "erased, version FROM recipient_contacts WHERE person_id = %s", [person_id])
    return rows[0] if rows else None
