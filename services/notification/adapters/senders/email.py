"""The e-mail channel: one plain-text UTF-8 message per delivery, sent with aiosmtplib.

Each message carries ``Subject`` = the notice title, the body as text/plain; charset=utf-8, a
``Message-ID`` built from the delivery id (``<delivery-id@sender-domain>``, the same on every
retry so a mail system or reader can tell a retry from a new notice), ``X-CDSP-Delivery`` with
the delivery id, ``Auto-Submitted: auto-generated`` and, for urgent notices, ``X-Priority: 1``
and ``Importance: high``.

SMTP replies: 5xx (a refused recipient, a refused message, refused credentials) fail for good;
4xx, timeouts and connection errors are retried later. ``send`` returns the queue id when the
final 250 reply names one ("queued as ABC123"), otherwise "". Failure reasons carry the SMTP
code only, never the server's text (which often repeats the address).
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from notification.adapters.senders.base import Outgoing, PermanentFailure, TemporaryFailure

_QUEUE_ID = re.compile(r"queued as ([A-Za-z0-9._-]+)", re.IGNORECASE)
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_ADDRESS = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+$")


def message_id(delivery_id: str, sender_address: str) -> str:
    """The Message-ID of a delivery: stable across retries."""
    domain = sender_address.rpartition("@")[2] or "cdsp.invalid"
    return f"<{_ID_UNSAFE.sub('-', delivery_id)}@{domain}>"


def _refused_code(exc: aiosmtplib.SMTPException) -> int | None:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return exc.recipients[0].code if exc.recipients else None
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return exc.code
    return None


def _is_refused_connection(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return True
        seen = seen.__cause__ or seen.__context__
    return "connection refused" in str(exc).lower() or "connect call failed" in str(exc).lower()


class EmailSender:
    """Sends each delivery over its own SMTP connection (a notice is a handful of e-mails)."""

    channel = "email"

    def __init__(self, host: str, port: int, sender_address: str, starttls: bool = False,
                 username: str = "", password: str = "", timeout_s: float = 10) -> None:
        if not _ADDRESS.match(sender_address):
            raise ValueError("sender_address must be an e-mail address")
        self.host = host
        self.port = port
        self.sender_address = sender_address
        self.starttls = starttls
        self.username = username
        self.password = password
        self.timeout_s = timeout_s

    def build(self, message: Outgoing) -> EmailMessage:
        """The e-mail for one delivery (PermanentFailure when the address cannot be used)."""
        if not _ADDRESS.match(message.address):
            raise PermanentFailure("the e-mail address is not valid")
        mail = EmailMessage()
        try:
            mail["From"] = self.sender_address
            mail["To"] = message.address
            mail["Subject"] = message.title
        except (ValueError, IndexError):
            raise PermanentFailure("the e-mail address or subject is not valid") from None
        mail["Date"] = formatdate(usegmt=True)
        mail["Message-ID"] = message_id(message.delivery_id, self.sender_address)
        mail["X-CDSP-Delivery"] = message.delivery_id
        mail["Auto-Submitted"] = "auto-generated"
        if message.urgent:
            mail["X-Priority"] = "1"
            mail["Importance"] = "high"
        mail.set_content(message.body, charset="utf-8")
        return mail

    async def send(self, message: Outgoing) -> str:
        mail = self.build(message)
        try:
            _, reply = await aiosmtplib.send(
                mail, sender=self.sender_address, recipients=[message.address],
                hostname=self.host, port=self.port, start_tls=self.starttls, use_tls=False,
                username=self.username or None, password=self.password or None,
                timeout=self.timeout_s)
        except aiosmtplib.SMTPTimeoutError:
            raise TemporaryFailure(f"timeout after {self.timeout_s:g}s") from None
        except (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPResponseException) as exc:
            code = _refused_code(exc)
            if code is not None and code >= 500:
                raise PermanentFailure(f"SMTP {code}") from None
            raise TemporaryFailure(f"SMTP {code}" if code and code > 0 else "SMTP error") from None
        except aiosmtplib.SMTPServerDisconnected:
            raise TemporaryFailure("connection closed by the SMTP server") from None
        except (aiosmtplib.SMTPConnectError, OSError) as exc:
            reason = "connection refused" if _is_refused_connection(exc) else "connection failed"
            raise TemporaryFailure(reason) from None
        except aiosmtplib.SMTPNotSupported:
            raise TemporaryFailure("the SMTP server lacks a required extension") from None
        except aiosmtplib.SMTPException:
            raise TemporaryFailure("SMTP error") from None
        except TimeoutError:
            raise TemporaryFailure(f"timeout after {self.timeout_s:g}s") from None
        except ValueError:  # aiosmtplib refuses an address it cannot send safely
            raise PermanentFailure("the e-mail address is not valid") from None
        found = _QUEUE_ID.search(reply)
        return found.group(1) if found else ""

    async def close(self) -> None:
        return None
