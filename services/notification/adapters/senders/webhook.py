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

The URL is checked against ``runtime.webhook_urls`` before every attempt, and the
connector's resolver (runtime.webhook_client) checks every address again as it connects, so a
name re-pointed at an internal address (DNS rebinding) is refused. Failure reasons never
contain the URL.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

import aiohttp

from notification.adapters.senders.base import Outgoing, PermanentFailure, TemporaryFailure
from runtime.webhook_client import RETRYABLE_STATUSES, checked_session, connection_reason, sign
from runtime.webhook_client import verify as verify  # receivers' check, re-exported
from runtime.webhook_urls import Network, WebhookUrlError, resolve_and_check


def encode_document(message: Outgoing) -> bytes:
    """The exact body that is signed and sent."""
    return json.dumps(message.document, ensure_ascii=False, separators=(",", ":"),
                      sort_keys=True).encode("utf-8")


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
            self._session = checked_session(self.allowed_networks, self.timeout_s,
                                            "CDSP-Webhook/1")
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
            raise TemporaryFailure(connection_reason(exc)) from None
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
