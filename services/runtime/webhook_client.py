"""An HTTP client for calling webhooks safely (the notification service's webhooks, the partner
gateway's subscribers): its resolver checks every address a host name resolves to against the
URL rules (runtime.webhook_urls) as it connects, so a name re-pointed at an internal address
(DNS rebinding) is refused; redirects are the caller's to refuse; proxies from the environment
are ignored. Failure reasons never contain the URL. Bodies are signed as
``sha256=<hex HMAC-SHA256(secret, b"<unix seconds>." + body)>`` (``sign``; receivers ``verify``).
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import socket
import time
from collections.abc import Sequence

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from runtime.webhook_urls import Network, resolve_host


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


# Statuses that say "try again later"; with 5xx, timeouts and connection errors.
RETRYABLE_STATUSES = frozenset({408, 425, 429})


class CheckedResolver(AbstractResolver):
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


def checked_session(allowed_networks: Sequence[Network], timeout_s: float,
                    user_agent: str) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(resolver=CheckedResolver(allowed_networks),
                                     use_dns_cache=False, limit=100)
    return aiohttp.ClientSession(connector=connector,
                                 timeout=aiohttp.ClientTimeout(total=timeout_s),
                                 trust_env=False, headers={"User-Agent": user_agent})


def connection_reason(exc: BaseException) -> str:
    """A failed request's reason, safe to store and show (no URL, no address)."""
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
