"""The webhook channel: a signed JSON POST to a URL an organisation registered.

What a receiver gets:

    POST <url>
    Content-Type: application/json          the body is UTF-8 JSON, keys sorted, no spaces
    X-CDSP-Delivery: <delivery_id>          the same on every retry: receivers dedupe on it
    X-CDSP-Timestamp: <unix seconds>        when this attempt was signed
    X-CDSP-Signature: sha256=<hex>          HMAC-SHA256(secret, b"<timestamp>." + body)

Receivers check the signature with ``verify`` (or its equivalent) and refuse timestamps more
than five minutes off. Any 2xx is success; redirects are never followed (a 3xx fails for good);
408, 425, 429 and 5xx, timeouts and connection errors are retried later; other 4xx fail for good.

The URL is checked against ``notification.domain.webhook_urls`` before every attempt, and the
connector's resolver checks every address again as it connects, so a name re-pointed at an
internal address (DNS rebinding) is refused. Failure reasons never contain the URL.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import json
import socket
import time
from collections.abc import Sequence

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from notification.adapters.senders.base import Outgoing, PermanentFailure, TemporaryFailure
from notification.domain.webhook_urls import (
    Network,
    WebhookUrlError,
    resolve_and_check,
    resolve_host,
)

RETRYABLE_STATUSES = frozenset({408, 425, 429})


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The X-CDSP-Signature value: ``sha256=`` and the hex HMAC of ``b"<timestamp>." + body``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(secret: str, timestamp: int | str, body: bytes, header: str,
           tolerance_s: float = 300, now: float | None = None) -> bool:
    """For receivers: the signature matches (compared in constant time) and the timestamp is
    within ``tolerance_s`` of ``now``."""
    text = str(timestamp)
    if not secret or not (text.isascii() and text.isdigit()):
        return False
    current = time.time() if now is None else now
    if abs(current - int(text)) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, text, body).encode(), header.encode())


def encode_document(message: Outgoing) -> bytes:
    """The exact body that is signed and sent."""
    return json.dumps(message.document, ensure_ascii=False, separators=(",", ":"),
                      sort_keys=True).encode("utf-8")


class _CheckedResolver(AbstractResolver):
    """Resolves with the event loop and refuses any address the URL rules refuse."""

    def __init__(self, allowed_networks: Sequence[Network]) -> None:
        self._allowed = tuple(allowed_networks)

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        found = await resolve_host(host, port, self._allowed, family)
        return [ResolveResult(hostname=host, host=address, port=port, family=fam, proto=0,
                              flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV)
                for fam, address in found]

    async def close(self) -> None:
        return None


def _connection_reason(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "DNS lookup failed"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
        return "TLS handshake failed"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "connection closed by the receiver"
    if isinstance(exc, aiohttp.ClientConnectorError):
        if exc.os_error.errno == errno.ECONNREFUSED:
            return "connection refused"
        return "connection failed"
    return "connection error"


class WebhookSender:
    """Sends ``Outgoing.document`` to ``Outgoing.address`` over one shared HTTP session."""

    channel = "webhook"

    def __init__(self, allowed_networks: Sequence[Network], timeout_s: float = 5.0,
                 max_body_bytes: int = 64 * 1024) -> None:
        self.allowed_networks = tuple(allowed_networks)
        self.timeout_s = timeout_s
        self.max_body_bytes = max_body_bytes
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(resolver=_CheckedResolver(self.allowed_networks),
                                             use_dns_cache=False, limit=100)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=self.timeout_s),
                trust_env=False, headers={"User-Agent": "CDSP-Webhook/1"})
        return self._session

    async def send(self, message: Outgoing) -> str:
        body = encode_document(message)
        if len(body) > self.max_body_bytes:
            raise PermanentFailure(f"payload of {len(body)} bytes exceeds the "
                                   f"{self.max_body_bytes}-byte limit")
        if not message.secret:
            raise PermanentFailure("the webhook has no signing secret")
        try:
            await resolve_and_check(message.address, self.allowed_networks)
        except WebhookUrlError as exc:
            raise PermanentFailure(f"webhook URL refused: rule {exc.rule}") from None
        except OSError:
            raise TemporaryFailure("DNS lookup failed") from None
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "X-CDSP-Delivery": message.delivery_id,
            "X-CDSP-Timestamp": str(timestamp),
            "X-CDSP-Signature": sign(message.secret, timestamp, body),
        }
        try:
            async with self._client().post(message.address, data=body, headers=headers,
                                           allow_redirects=False) as response:
                status = response.status
        except WebhookUrlError as exc:  # the resolver refused an address while connecting
            raise PermanentFailure(f"webhook URL refused: rule {exc.rule}") from None
        except TimeoutError:
            raise TemporaryFailure(f"timeout after {self.timeout_s:g}s") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise TemporaryFailure(_connection_reason(exc)) from None
        if 200 <= status < 300:
            return ""
        if 300 <= status < 400:
            raise PermanentFailure(f"HTTP {status}: redirects are not followed")
        if status in RETRYABLE_STATUSES or status >= 500:
            raise TemporaryFailure(f"HTTP {status}")
        raise PermanentFailure(f"HTTP {status}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
