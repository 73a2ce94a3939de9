"""A subscriber's secrets as the gateway holds them: sealed (runtime.pii, CDSP_PARTNER_KEYS),
each bound to its row and column, opened only to sign a delivery or to pseudonymise."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime

from runtime.pii import PiiKeys, aad

SECRET, OLD_SECRET, PSEUDONYM_KEY = "subscribers.secret", "subscribers.old_secret", \
    "subscribers.pseudonym_key"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def seal(keys: PiiKeys, column: str, subscriber_id: str, value: str) -> bytes:
    return keys.seal(value, aad(column, subscriber_id))


def seal_pseudonym_key(keys: PiiKeys, subscriber_id: str, key: bytes) -> bytes:
    return seal(keys, PSEUDONYM_KEY, subscriber_id, base64.b64encode(key).decode())


def pseudonym_key(keys: PiiKeys, subscriber_id: str, sealed: bytes) -> bytes:
    return base64.b64decode(keys.open(sealed, aad(PSEUDONYM_KEY, subscriber_id)))


def signing_secrets(keys: PiiKeys, subscriber_id: str, sealed: bytes, old_sealed: bytes | None,
                    old_until: datetime | None, now: datetime | None = None) -> list[str]:
    """The current secret, then the old one while its overlap lasts."""
    found = [keys.open(sealed, aad(SECRET, subscriber_id))]
    if old_sealed is not None and old_until is not None and old_until > (now or datetime.now(UTC)):
        found.append(keys.open(old_sealed, aad(OLD_SECRET, subscriber_id)))
    return found
