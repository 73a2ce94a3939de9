"""The SMS and voice-call channels: one provider behind one HTTP JSON API.

The provider API (this is the contract; scripts/fake_endpoints.py implements exactly this):

    POST {base_url}/v1/messages
    Authorization: Bearer <api_key>
    Idempotency-Key: <delivery_id>         1-128 printable ASCII characters, required
    Content-Type: application/json

    {"kind": "sms" | "voice",
     "to": "+8613800138000",               E.164: "+", country code, number; 8-15 digits
     "text": "...",                        sms: 1-1000 characters (sent as a concatenated SMS);
                                           voice: 1-2000 characters, read aloud by the
                                           provider's text-to-speech in Mandarin
     "flash": true | false,                sms: a class-0 "flash" SMS shown on the screen at once
                                           (for deaf recipients); ignored for voice
     "priority": "urgent" | "normal",      urgent messages jump the provider's queue
     "reference": "<delivery_id>"}         echoed in delivery reports, 1-128 characters

    202 {"message_id": "...", "status": "accepted"}     accepted for sending
    400 {"error": "<code>", "field": "<field>"}         the request is invalid: invalid_json,
         invalid_kind, invalid_number, invalid_text, invalid_flash, invalid_priority,
         invalid_reference, missing_idempotency_key; sending it again cannot help
    401 / 403 {"error": "unauthorized" | "forbidden"}   the key is missing, wrong or revoked
    429 / 5xx                                           overloaded or failing: try again later

An Idempotency-Key the provider has seen before (kept for at least 24 hours) returns 202 with
the message_id of the first request and the header ``Idempotent-Replayed: true``, and nothing is
sent again, whatever the body of the repeated request. The delivery id is the key, so a retry
after a lost reply never sends a second SMS or places a second call.

Mapping to the Sender interface: 2xx returns the message_id (a 2xx without one is retried,
which is safe because of the key); 400 and other 4xx fail for good (401/403 as "provider
refused the credentials"); 408, 425, 429, 5xx, timeouts and connection errors are retried.

Phone numbers are normalised to E.164 before sending (an 11-digit mainland mobile gets +86) and
never appear in failure reasons or logs.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

import aiohttp

from notification.adapters.senders.base import Outgoing, PermanentFailure, TemporaryFailure

Kind = Literal["sms", "voice"]
_MAINLAND_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
_E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
_SEPARATORS = re.compile(r"[\s().\-]")
_ERROR_CODE = re.compile(r"^[a-z_]{1,40}$")


class InvalidPhoneNumber(ValueError):
    def __init__(self) -> None:
        super().__init__("the phone number is not a valid number")  # never the number itself


def normalise_phone(raw: str) -> str:
    """E.164 form of a phone number: 13800138000 -> +8613800138000; 0086/86 prefixes and
    separators are accepted; a mainland landline with its trunk 0 (010-12345678) gets +86."""
    digits = _SEPARATORS.sub("", raw)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if _MAINLAND_MOBILE.match(digits):
        digits = "+86" + digits
    elif digits.startswith("86") and _MAINLAND_MOBILE.match(digits[2:]):
        digits = "+" + digits
    elif digits.startswith("0") and digits[1:].isdigit() and 10 <= len(digits) <= 12:
        digits = "+86" + digits[1:]
    if not (digits.isascii() and _E164.match(digits)):
        raise InvalidPhoneNumber()
    return digits


def message_text(message: Outgoing) -> str:
    """What the recipient reads or hears: the title, then the body."""
    return "\n".join(part for part in (message.title.strip(), message.body.strip()) if part)


class ProviderClient:
    """The provider's API over one aiohttp session (created on first use, shared by the SMS and
    voice senders; ``close`` closes it and a later request opens a new one)."""

    def __init__(self, base_url: str, api_key: str, timeout_s: float = 5.0) -> None:
        if not base_url.startswith(("https://", "http://")):
            raise ValueError("base_url must be an http(s) URL")
        if not api_key:
            raise ValueError("api_key is required")
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.timeout_s = timeout_s
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout_s), trust_env=False,
                headers={"Authorization": f"Bearer {self._api_key}",
                         "User-Agent": "CDSP-Notification/1"})
        return self._session

    async def submit(self, kind: Kind, message: Outgoing) -> str:
        """Sends one SMS or call request; returns the provider's message_id."""
        try:
            to = normalise_phone(message.address)
        except InvalidPhoneNumber as exc:
            raise PermanentFailure(str(exc)) from None
        payload = {"kind": kind, "to": to, "text": message_text(message),
                   "flash": message.flash_alert,
                   "priority": "urgent" if message.urgent else "normal",
                   "reference": message.delivery_id}
        try:
            async with self._client().post(
                    f"{self.base_url}/v1/messages", json=payload, allow_redirects=False,
                    headers={"Idempotency-Key": message.delivery_id}) as response:
                status = response.status
                raw = await response.content.read(64 * 1024)
        except TimeoutError:
            raise TemporaryFailure(f"timeout after {self.timeout_s:g}s") from None
        except aiohttp.ClientConnectorError as exc:
            refused = isinstance(exc.os_error, ConnectionRefusedError)
            raise TemporaryFailure("connection refused" if refused
                                   else "connection failed") from None
        except (aiohttp.ClientError, OSError):
            raise TemporaryFailure("provider connection error") from None
        return _outcome(status, _json(raw))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _outcome(status: int, reply: Any) -> str:
    if 200 <= status < 300:
        if isinstance(reply, dict) and isinstance(reply.get("message_id"), str) \
                and reply["message_id"]:
            return str(reply["message_id"])
        raise TemporaryFailure(f"HTTP {status} without a message_id")
    if status in (401, 403):
        raise PermanentFailure(f"provider refused the credentials (HTTP {status})")
    if status in (408, 425, 429) or status >= 500:
        raise TemporaryFailure(f"HTTP {status}")
    if 300 <= status < 400:
        raise PermanentFailure(f"HTTP {status}: redirects are not followed")
    code = reply.get("error") if isinstance(reply, dict) else None
    if isinstance(code, str) and _ERROR_CODE.match(code):
        raise PermanentFailure(f"HTTP {status}: {code}")
    raise PermanentFailure(f"HTTP {status}")


class ProviderSender:
    """The SMS or the voice channel; several senders may share one ProviderClient."""

    def __init__(self, kind: Kind, client: ProviderClient) -> None:
        if kind not in ("sms", "voice"):
            raise ValueError("kind must be 'sms' or 'voice'")
        self.kind: Kind = kind
        self.channel: str = kind
        self.client = client

    async def send(self, message: Outgoing) -> str:
        return await self.client.submit(self.kind, message)

    async def close(self) -> None:
        await self.client.close()


def provider_senders(base_url: str, api_key: str,
                     timeout_s: float = 5.0) -> tuple[ProviderSender, ProviderSender]:
    """The (sms, voice) senders over one shared client and session."""
    client = ProviderClient(base_url, api_key, timeout_s)
    return ProviderSender("sms", client), ProviderSender("voice", client)
