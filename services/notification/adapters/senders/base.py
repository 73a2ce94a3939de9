"""The one interface every delivery channel implements.

The dispatcher stores every notice and its deliveries before anything is sent, claims the due
deliveries, resolves each one's address at send time (so a changed phone number is used, and
addresses live only in the recipients table) and hands an ``Outgoing`` to the channel's sender:

- ``send`` returning means the far end accepted the message (the SMTP server answered 250, the
  webhook endpoint answered 2xx, the SMS/voice provider accepted the request). It returns the far
  end's reference for the message (provider message id, SMTP queue id, "" when there is none).
- ``TemporaryFailure``: worth trying again later (timeouts, connection refused, 5xx, 429, SMTP 4xx).
- ``PermanentFailure``: trying again cannot help (4xx other than 408/429, SMTP 5xx, an address
  that is not allowed). The delivery is marked failed at once.

Reasons in both exceptions are recorded in the database and may be logged: they must never
contain a phone number, an e-mail address, a name or the message text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Outgoing:
    delivery_id: str           # unique per (notice, channel, target): receivers dedupe on it
    notice_id: str
    channel: str               # "inbox" | "webhook" | "email" | "sms" | "voice"
    address: str               # phone number, e-mail address or webhook URL ("" for the inbox)
    title: str
    body: str
    urgent: bool = False
    flash_alert: bool = False  # hearing: the device should flash, not only ring
    easy_read: bool = False
    attempt: int = 1           # 1 for the first try
    secret: str = ""           # webhook signing secret
    # The JSON document a webhook receives (built by the dispatcher; no resident ID numbers).
    document: Mapping[str, Any] = field(default_factory=dict)


class DeliveryError(Exception):
    """Base of the two failures; ``reason`` is safe to store and log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TemporaryFailure(DeliveryError):
    pass


class PermanentFailure(DeliveryError):
    pass


class Sender(Protocol):
    channel: str

    async def send(self, message: Outgoing) -> str: ...

    async def close(self) -> None: ...
