"""Contact rules: phone numbers, guardians and liaisons."""

from __future__ import annotations

import re
from dataclasses import dataclass

MOBILE = re.compile(r"1[3-9][0-9]{9}")
LANDLINE = re.compile(r"0[0-9]{2,3}-?[0-9]{7,8}")

CHANNEL_PHONE_CALL, CHANNEL_SMS = 1, 2  # the others: 3 app, 4 messaging group, 5 in person
CHANNELS = range(1, 6)
PHONE_CHANNELS = (CHANNEL_PHONE_CALL, CHANNEL_SMS)


def is_phone(value: str) -> bool:
    """A mainland mobile (11 digits, 1[3-9]...) or a landline with area code (0xx-xxxxxxx)."""
    return bool(MOBILE.fullmatch(value) or LANDLINE.fullmatch(value))


@dataclass(frozen=True)
class Guardian:
    name: str
    phone: str
    relation: str


@dataclass(frozen=True)
class Liaison:
    worker_id: str
    name: str
    phone: str
