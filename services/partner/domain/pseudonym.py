"""Pseudonyms: a subscriber sees an internal id (a person's, a household's, a case's) only as
HMAC-SHA256(its pseudonym key, the id), base32 (lower case, no padding) cut to 32
characters (160 bits). Stable for one subscriber (it can put its events about one person
together), different between subscribers (two of them cannot join their data on it), and not
reversible without the key, which stays sealed in the gateway.

The key is never rotated: a new key would change every pseudonym the subscriber holds and
break its joins. A subscriber whose key leaked is revoked and registered anew (new pseudonyms).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

LENGTH = 32


def new_key() -> bytes:
    return os.urandom(32)


def pseudonym(key: bytes, internal_id: str) -> str:
    digest = hmac.new(key, internal_id.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii").rstrip("=").lower()[:LENGTH]
