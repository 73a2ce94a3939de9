"""Every delivery channel against the local stand-ins of its far end (scripts/fake_endpoints.py),
over real sockets: what arrives, and which failures are temporary and which permanent. No reason
may carry the phone number, the e-mail address or the URL."""

from __future__ import annotations

import ipaddress
import json
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from fake_endpoints import SmsProvider, SmtpSink, WebhookReceiver
from notification.adapters.senders import webhook as webhook_module
from notification.adapters.senders.base import Outgoing, PermanentFailure, TemporaryFailure
from notification.adapters.senders.email import EmailSender
from notification.adapters.senders.provider import (
    ProviderClient,
    ProviderSender,
    provider_senders,
)
from notification.adapters.senders.webhook import WebhookSender, sign, verify

LOCAL = (ipaddress.ip_network("127.0.0.0/8"),)
SECRET = "whsec-test-0123456789"
API_KEY = "provider-test-key"
PHONE = "138 0013 8000"            # a made-up number
E164 = "+8613800138000"
EMAIL = "resident.zhang@example.org"
TITLE = "停水通知"
BODY = "明天 9:00–12:00 新华社区1区停水，请提前储水。"


def free_port() -> int:
    """A port nothing listens on (bound once, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean(exc: BaseException, *secrets: str) -> None:
    """The failure reason names none of the personal data (in any common spelling)."""
    text = f"{exc} {exc.args!r}"
    for value in secrets:
        assert value not in text
    assert "13800138000" not in text and "0013" not in text


def outgoing(channel: str, address: str, delivery_id: str = "d-1", **extra: object) -> Outgoing:
    return Outgoing(delivery_id=delivery_id, notice_id="n-1", channel=channel, address=address,
                    title=TITLE, body=BODY, **extra)  # type: ignore[arg-type]


# --- webhook ---------------------------------------------------------------------------------
@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    server = WebhookReceiver()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def webhook() -> AsyncIterator[WebhookSender]:
    sender = WebhookSender(LOCAL, timeout_s=0.5)
    yield sender
    await sender.close()


def hook(url: str, delivery_id: str = "d-1", **document: object) -> Outgoing:
    doc = {"notice_id": "n-1", "title": TITLE, "body": BODY, **document}
    return outgoing("webhook", url, delivery_id, secret=SECRET, document=doc)


async def test_webhook_delivers_a_signed_document(receiver: WebhookReceiver,
                                                  webhook: WebhookSender) -> None:
    message = hook(receiver.url, "d-web-1", urgent=True)
    before = int(time.time())
    assert await webhook.send(message) == ""
    [got] = await receiver.wait_for(1)
    assert got.method == "POST" and got.path == "/hook"
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["X-CDSP-Delivery"] == "d-web-1"
    stamp = int(got.headers["X-CDSP-Timestamp"])
    assert before <= stamp <= int(time.time())
    assert got.body == json.dumps(message.document, ensure_ascii=False, separators=(",", ":"),
                                  sort_keys=True).encode()
    assert TITLE.encode() in got.body  # UTF-8, not \\u escapes
    assert got.json == {"notice_id": "n-1", "title": TITLE, "body": BODY, "urgent": True}
    assert got.headers["X-CDSP-Signature"] == sign(SECRET, stamp, got.body)
    assert verify(SECRET, got.headers["X-CDSP-Timestamp"], got.body,
                  got.headers["X-CDSP-Signature"])
    assert receiver.verified(SECRET)               # the receiver's own check agrees
    assert not receiver.verified("another-secret")
    assert not verify(SECRET, stamp, got.body + b" ", got.headers["X-CDSP-Signature"])
    assert not verify(SECRET, stamp, got.body, got.headers["X-CDSP-Signature"],
                      now=stamp + 301)


async def test_a_checking_receiver_accepts_the_signature(webhook: WebhookSender) -> None:
    strict = WebhookReceiver(secret=SECRET)
    await strict.start()
    try:
        assert await webhook.send(hook(strict.url)) == ""
        with pytest.raises(PermanentFailure, match="HTTP 401"):
            await webhook.send(replace(hook(strict.url), secret="wrong-secret"))
        first, second = await strict.wait_for(2)
        assert (first.status, second.status) == (200, 401)
    finally:
        await strict.stop()


async def test_webhook_503_is_temporary_then_succeeds(receiver: WebhookReceiver,
                                                      webhook: WebhookSender) -> None:
    receiver.fail_next(1, status=503)
    with pytest.raises(TemporaryFailure) as failed:
        await webhook.send(hook(receiver.url))
    assert failed.value.reason == "HTTP 503"
    clean(failed.value, receiver.url, str(receiver.port))
    assert await webhook.send(hook(receiver.url)) == ""
    assert [r.status for r in await receiver.wait_for(2)] == [503, 200]
    assert [r.headers["X-CDSP-Delivery"] for r in receiver.received] == ["d-1", "d-1"]


@pytest.mark.parametrize(("status", "kind", "reason"), [
    (404, PermanentFailure, "HTTP 404"),
    (410, PermanentFailure, "HTTP 410"),
    (302, PermanentFailure, "HTTP 302: redirects are not followed"),
    (429, TemporaryFailure, "HTTP 429"),
    (408, TemporaryFailure, "HTTP 408"),
    (500, TemporaryFailure, "HTTP 500"),
])
async def test_webhook_status_mapping(receiver: WebhookReceiver, webhook: WebhookSender,
                                      status: int, kind: type[Exception], reason: str) -> None:
    receiver.respond_with(status)
    with pytest.raises(kind) as failed:
        await webhook.send(hook(receiver.url))
    assert str(failed.value) == reason
    [got] = await receiver.wait_for(1)             # it arrived once (a redirect not followed)
    assert got.status == status


async def test_webhook_timeout_is_temporary(receiver: WebhookReceiver,
                                            webhook: WebhookSender) -> None:
    receiver.set_delay(3.0)
    started = time.monotonic()
    with pytest.raises(TemporaryFailure) as failed:
        await webhook.send(hook(receiver.url))
    assert failed.value.reason == "timeout after 0.5s"
    assert time.monotonic() - started < 2.0
    assert len(await receiver.wait_for(1)) == 1


async def test_webhook_connection_refused_is_temporary(webhook: WebhookSender) -> None:
    with pytest.raises(TemporaryFailure) as failed:
        await webhook.send(hook(f"http://127.0.0.1:{free_port()}/hook"))
    assert failed.value.reason == "connection refused"


async def test_webhook_oversized_payload_is_permanent(receiver: WebhookReceiver,
                                                      webhook: WebhookSender) -> None:
    message = hook(receiver.url, filler="x" * (64 * 1024))
    with pytest.raises(PermanentFailure) as failed:
        await webhook.send(message)
    size = len(json.dumps(message.document, ensure_ascii=False, separators=(",", ":")).encode())
    assert failed.value.reason == f"payload of {size} bytes exceeds the 65536-byte limit"
    assert await webhook.send(hook(receiver.url, filler="x" * 60_000)) == ""  # under: sent
    assert len(await receiver.wait_for(1)) == 1


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]"])
async def test_webhook_to_loopback_is_refused_unless_allowed(receiver: WebhookReceiver,
                                                             host: str) -> None:
    sender = WebhookSender(allowed_networks=(), timeout_s=0.5)
    try:
        for scheme in ("http", "https"):
            url = f"{scheme}://{host}:{receiver.port}/hook"
            with pytest.raises(PermanentFailure) as failed:
                await sender.send(hook(url))
            # plain http to a name is refused before it is even looked up
            rule = "scheme" if (scheme, host) == ("http", "localhost") else "loopback"
            assert failed.value.reason == f"webhook URL refused: rule {rule}"
            clean(failed.value, url, host)
    finally:
        await sender.close()
    assert receiver.received == []


async def test_webhook_connection_rechecks_addresses(receiver: WebhookReceiver,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: the name passed the first check, then resolves to loopback as the
    connection is made; the connector's own resolver refuses it."""
    async def first_lookup_was_public(url: str, allowed: object) -> list[str]:
        return ["93.184.216.34"]

    monkeypatch.setattr(webhook_module, "resolve_and_check", first_lookup_was_public)
    sender = WebhookSender(allowed_networks=(), timeout_s=0.5)
    try:
        with pytest.raises(PermanentFailure) as failed:
            await sender.send(hook(f"https://localhost:{receiver.port}/hook"))
    finally:
        await sender.close()
    assert failed.value.reason == "webhook URL refused: rule loopback"
    assert receiver.received == []


# --- e-mail ----------------------------------------------------------------------------------
@pytest.fixture
async def sink() -> AsyncIterator[SmtpSink]:
    server = SmtpSink()
    await server.start()
    yield server
    await server.stop()


def mailer(sink: SmtpSink) -> EmailSender:
    return EmailSender("127.0.0.1", sink.port, "noreply@cdsp.example", timeout_s=5)


async def test_email_arrives_with_subject_body_and_headers(sink: SmtpSink) -> None:
    sender = mailer(sink)
    queue_id = await sender.send(outgoing("email", EMAIL, "d-mail-1", urgent=True))
    [got] = await sink.wait_for(1)
    assert queue_id == got.queue_id and queue_id
    assert got.mail_from == "noreply@cdsp.example"
    assert got.rcpt_tos == [EMAIL]
    mail = got.message
    assert mail["Subject"] == TITLE
    assert mail["To"] == EMAIL
    assert mail["Message-ID"] == "<d-mail-1@cdsp.example>"
    assert mail["X-CDSP-Delivery"] == "d-mail-1"
    assert mail["X-Priority"] == "1"
    assert mail.get_content_type() == "text/plain"
    assert mail.get_content_charset() == "utf-8"
    assert mail.get_content() == BODY + "\n"


async def test_email_retry_keeps_the_message_id_and_normal_has_no_priority(sink: SmtpSink) -> None:
    sender = mailer(sink)
    await sender.send(outgoing("email", EMAIL, "d-mail-2"))
    await sender.send(outgoing("email", EMAIL, "d-mail-2", attempt=2))
    first, second = await sink.wait_for(2)
    assert first.message["Message-ID"] == second.message["Message-ID"] == "<d-mail-2@cdsp.example>"
    assert first.message["X-Priority"] is None
    assert first.queue_id != second.queue_id


@pytest.mark.parametrize(("code", "stage", "kind"), [
    (451, "data", TemporaryFailure),
    (451, "rcpt", TemporaryFailure),
    (550, "data", PermanentFailure),
    (550, "rcpt", PermanentFailure),
])
async def test_email_smtp_replies(sink: SmtpSink, code: int, stage: str,
                                  kind: type[Exception]) -> None:
    sink.fail_next(1, code=code, stage=stage)
    with pytest.raises(kind) as failed:
        await mailer(sink).send(outgoing("email", EMAIL))
    assert str(failed.value) == f"SMTP {code}"
    clean(failed.value, EMAIL, "resident.zhang")
    assert sink.messages == []
    await mailer(sink).send(outgoing("email", EMAIL))   # the script is used up: accepted
    assert len(await sink.wait_for(1)) == 1


async def test_email_connection_refused_is_temporary() -> None:
    sender = EmailSender("127.0.0.1", free_port(), "noreply@cdsp.example", timeout_s=2)
    with pytest.raises(TemporaryFailure) as failed:
        await sender.send(outgoing("email", EMAIL))
    assert failed.value.reason == "connection refused"
    clean(failed.value, EMAIL)


async def test_email_invalid_address_is_permanent(sink: SmtpSink) -> None:
    for address in ("not-an-address", "a@b.example\r\nBcc: x@evil.example"):
        with pytest.raises(PermanentFailure) as failed:
            await mailer(sink).send(outgoing("email", address))
        clean(failed.value, address)
    assert sink.messages == []


# --- SMS and voice ---------------------------------------------------------------------------
@pytest.fixture
async def provider() -> AsyncIterator[SmsProvider]:
    server = SmsProvider(API_KEY)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def senders(provider: SmsProvider) -> AsyncIterator[tuple[ProviderSender, ProviderSender]]:
    sms, voice = provider_senders(provider.url, API_KEY, timeout_s=2)
    yield sms, voice
    await sms.close()
    await voice.close()


async def test_sms_and_voice_are_accepted(provider: SmsProvider,
                                          senders: tuple[ProviderSender, ProviderSender]) -> None:
    sms, voice = senders
    assert (sms.channel, voice.channel) == ("sms", "voice")
    assert sms.client is voice.client
    sms_id = await sms.send(outgoing("sms", PHONE, "d-sms-1", flash_alert=True, urgent=True))
    voice_id = await voice.send(outgoing("voice", "+86 138-0013-8000", "d-voice-1"))
    texted, called = await provider.wait_for(2)
    assert (texted.message_id, called.message_id) == (sms_id, voice_id)
    assert sms_id != voice_id
    assert (texted.kind, texted.to, texted.flash, texted.priority) == ("sms", E164, True, "urgent")
    assert (called.kind, called.to, called.flash, called.priority) == (
        "voice", E164, False, "normal")
    assert texted.text == called.text == f"{TITLE}\n{BODY}"
    assert (texted.reference, texted.idempotency_key) == ("d-sms-1", "d-sms-1")
    assert called.reference == "d-voice-1"


async def test_a_repeated_delivery_id_is_sent_once(
        provider: SmsProvider, senders: tuple[ProviderSender, ProviderSender]) -> None:
    sms, _ = senders
    first = await sms.send(outgoing("sms", PHONE, "d-sms-2"))
    again = await sms.send(outgoing("sms", PHONE, "d-sms-2", attempt=2))
    assert first == again
    assert provider.attempts == 2
    assert [m.message_id for m in provider.messages] == [first]


async def test_wrong_api_key_is_permanent(provider: SmsProvider) -> None:
    sms = ProviderSender("sms", ProviderClient(provider.url, "not-the-key"))
    try:
        with pytest.raises(PermanentFailure) as failed:
            await sms.send(outgoing("sms", PHONE))
    finally:
        await sms.close()
    assert failed.value.reason == "provider refused the credentials (HTTP 401)"
    clean(failed.value, PHONE, E164, "not-the-key")
    assert provider.attempts == 1 and provider.messages == []


async def test_invalid_number_is_permanent(
        provider: SmsProvider, senders: tuple[ProviderSender, ProviderSender]) -> None:
    sms, voice = senders
    with pytest.raises(PermanentFailure) as refused:     # the provider's check
        await voice.send(outgoing("voice", "+8612345678901"))
    assert refused.value.reason == "HTTP 400: invalid_number"
    clean(refused.value, "+8612345678901", "12345678901")
    with pytest.raises(PermanentFailure) as local:       # ours: never sent
        await sms.send(outgoing("sms", "12ab-555"))
    assert local.value.reason == "the phone number is not a valid number"
    clean(local.value, "12ab-555", "555")
    assert provider.attempts == 1 and provider.messages == []


async def test_provider_503_is_temporary_then_succeeds(
        provider: SmsProvider, senders: tuple[ProviderSender, ProviderSender]) -> None:
    sms, _ = senders
    provider.fail_next(1, status=503)
    with pytest.raises(TemporaryFailure) as failed:
        await sms.send(outgoing("sms", PHONE, "d-sms-3"))
    assert failed.value.reason == "HTTP 503"
    clean(failed.value, PHONE, E164)
    message_id = await sms.send(outgoing("sms", PHONE, "d-sms-3", attempt=2))
    assert [m.message_id for m in await provider.wait_for(1)] == [message_id]
    assert provider.attempts == 2


async def test_provider_timeout_and_refused_connection_are_temporary(
        provider: SmsProvider) -> None:
    sms, voice = provider_senders(provider.url, API_KEY, timeout_s=0.3)
    provider.set_delay(2.0)
    try:
        with pytest.raises(TemporaryFailure) as slow:
            await voice.send(outgoing("voice", PHONE))
        assert slow.value.reason == "timeout after 0.3s"
    finally:
        await sms.close()
    gone = ProviderSender("sms", ProviderClient(f"http://127.0.0.1:{free_port()}", API_KEY))
    try:
        with pytest.raises(TemporaryFailure) as refused:
            await gone.send(outgoing("sms", PHONE))
        assert refused.value.reason == "connection refused"
        clean(refused.value, PHONE, E164)
    finally:
        await gone.close()
