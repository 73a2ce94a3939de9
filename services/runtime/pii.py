"""Personal identifiers at rest: AES-256-GCM with a key id, and a keyed blind index.

A resident ID or certificate number is stored only as ciphertext (`seal`) and, where the service
must find or keep it unique, as a blind index (`index`): HMAC-SHA256 under a key of its own, so
equal numbers give equal indexes and the index reveals nothing without that key.

A sealed value is  0x01 | key id length | key id | 12-byte nonce | ciphertext and tag.  The
associated data names the column and the row (`aad`), so a value copied into another row or
column does not open. Keys come from the environment (a Kubernetes Secret in production):

- CDSP_PII_KEYS: `kid:base64(32 bytes)` entries separated by commas. The first seals; all open,
  so a new key goes first and the old ones stay until `runtime.pii_cli reencrypt` has moved every
  value to the new one (`status` counts the values per key).
- CDSP_PII_INDEX_KEY: base64(32 bytes), the blind-index key. It is not rotated by re-encryption:
  a new index key needs every index recomputed (see the README's key section).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from runtime.settings import SettingsError

VERSION = 1
NONCE_BYTES = 12
_KID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class SealError(ValueError):
    """A sealed value that no configured key opens (wrong key, wrong row, or altered)."""


def _key(name: str, text: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SettingsError(f"{name}: not base64") from None
    if len(raw) != 32:
        raise SettingsError(f"{name}: a key must be 32 bytes (AES-256), got {len(raw)}")
    return raw


@dataclass(frozen=True)
class PiiKeys:
    active: str                 # the key id that seals
    keys: Mapping[str, bytes]   # every key id that opens
    index_key: bytes

    @classmethod
    def parse(cls, keys: str, index_key: str) -> PiiKeys:
        active, found = parse_sealing_keys(keys, "CDSP_PII_KEYS", "resident IDs and "
                                           "certificate numbers")
        if not index_key.strip():
            raise SettingsError("CDSP_PII_INDEX_KEY is required: the blind-index key (base64, "
                                "32 bytes)")
        return cls(active, found, _key("CDSP_PII_INDEX_KEY", index_key))

    @classmethod
    def sealing_only(cls, keys: str, setting: str, what: str) -> PiiKeys:
        """Keys that seal and open other secrets (no blind index): the partner gateway's
        subscriber secrets under CDSP_PARTNER_KEYS, the same format as CDSP_PII_KEYS."""
        active, found = parse_sealing_keys(keys, setting, what)
        return cls(active, found, b"")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PiiKeys:
        env = os.environ if env is None else env
        return cls.parse(env.get("CDSP_PII_KEYS", ""), env.get("CDSP_PII_INDEX_KEY", ""))

    def seal(self, plaintext: str, aad: bytes) -> bytes:
        kid = self.active.encode()
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.keys[self.active]).encrypt(nonce, plaintext.encode(), aad)
        return bytes([VERSION, len(kid)]) + kid + nonce + sealed

    def open(self, sealed: bytes, aad: bytes) -> str:
        kid = key_id(sealed)
        key = self.keys.get(kid)
        if key is None:
            raise SealError(f"sealed under key {kid}, which CDSP_PII_KEYS does not hold")
        start = 2 + len(kid)
        nonce, body = sealed[start:start + NONCE_BYTES], sealed[start + NONCE_BYTES:]
        try:
            return AESGCM(key).decrypt(nonce, body, aad).decode()
        except InvalidTag:
            raise SealError(f"a value sealed under key {kid} does not open for this row "
                            "(altered, or copied from another row or column)") from None

    def index(self, purpose: str, value: str) -> bytes:
        """The blind index of `value`: equal for equal values of one purpose, keyed."""
        return hmac.new(self.index_key, f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()


def parse_sealing_keys(keys: str, setting: str, what: str) -> tuple[str, dict[str, bytes]]:
    """`kid:base64key` entries separated by commas: the first seals, all open."""
    found: dict[str, bytes] = {}
    order: list[str] = []
    for entry in filter(None, (e.strip() for e in keys.split(","))):
        kid, sep, material = entry.partition(":")
        if not sep or not _KID.match(kid):
            raise SettingsError(f"{setting}: each entry is kid:base64key, the kid of "
                                "letters, digits, '.', '_' or '-' (at most 64)")
        if kid in found:
            raise SettingsError(f"{setting}: key id {kid} given twice")
        found[kid] = _key(f"{setting} ({kid})", material)
        order.append(kid)
    if not order:
        raise SettingsError(f"{setting} is required: the keys that encrypt {what} "
                            "(kid:base64, the first one seals)")
    return order[0], found


def key_id(sealed: bytes) -> str:
    if len(sealed) < 2 + NONCE_BYTES + 16 or sealed[0] != VERSION:
        raise SealError("not a sealed value of this version")
    return sealed[2:2 + sealed[1]].decode("ascii", "replace")


def aad(column: str, row_id: str) -> bytes:
    """Associated data binding a sealed value to its column and row."""
    return f"{column}\x00{row_id}".encode()


@lru_cache(maxsize=1)
def keys() -> PiiKeys:
    """The process's keys, read from the environment once (a service checks them at start)."""
    return PiiKeys.from_env()


def new_key() -> str:
    """A fresh random key, base64 (for `pii_cli new-key` and a development stack)."""
    return base64.b64encode(os.urandom(32)).decode()
