"""One logging set-up for every service: one line per record, personal data masked.

Resident ID numbers (18 characters), certificate numbers (20), mainland phone numbers and e-mail
addresses are masked in every message and exception text that reaches a log, whatever code wrote
it. Names cannot be recognised by pattern, so code must never put a name in a log message.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time

_ID = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?:[0-9]{2})?(?![0-9])")
_PHONE = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?(1[3-9][0-9])[0-9]{4}([0-9]{4})(?![0-9])")
_EMAIL = re.compile(r"([^@\s\"'<>(),;:]{1,64})@([A-Za-z0-9.-]+\.[A-Za-z]{2,63})")


def mask_personal_data(text: str) -> str:
    """Masks resident and certificate numbers (keeps the 6-digit area code), mobile numbers and
    e-mail addresses."""
    text = _ID.sub(lambda m: m.group(0)[:6] + "*" * (len(m.group(0)) - 6), text)
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    return _PHONE.sub(r"\1****\2", text)


def mask_email(value: str) -> str:
    """a***@example.org: the first character of the mailbox and the domain."""
    local, at, domain = value.partition("@")
    if not at:
        return "*" * len(value)
    return (local[:1] + "***" if local else "***") + "@" + domain


def mask_resident_id(value: str) -> str:
    """Shows only the 6-digit area code. Nothing more: a record shows the birth date and sex to
    the same reader, and with the last character too (the check digit) the 500 sequence numbers
    a birth date and sex leave would narrow to some 45; without it they stay 500."""
    if len(value) <= 6:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 6)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                  + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": mask_personal_data(record.getMessage()),
        }
        for key in ("request_id", "method", "code"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exc"] = mask_personal_data(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # kafka-python is chatty at INFO, and its messages carry no personal data we need.
    logging.getLogger("kafka").setLevel(logging.WARNING)
