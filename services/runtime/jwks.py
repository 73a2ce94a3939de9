"""The identity issuer's public keys (a JWKS, RFC 7517), by `kid`: several at once, so the issuer
can rotate (publish the new key, sign with it, withdraw the old one once its tokens expired).

Read at start-up, again every CDSP_TOKEN_JWKS_REFRESH_S, and at once when a token names a kid not
known yet (at most once per UNKNOWN_KID_INTERVAL_S, so a stream of made-up kids cannot hammer the
issuer). A refresh that fails keeps the keys held. Only signing keys of the allowed kinds are
taken: Ed25519 (`EdDSA`) and RSA of 2048 bits or more (`RS256`); the algorithm a token is verified
with is the key's, never the one the token's header names. In production a key whose kid starts
with "dev-" (a development issuer's) makes the whole set refused.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from jwt.algorithms import OKPAlgorithm, RSAAlgorithm
from jwt.exceptions import InvalidKeyError

from runtime.json_source import SourceError, read_json

log = logging.getLogger("cdsp.tokens")
UNKNOWN_KID_INTERVAL_S = 10.0
MIN_RSA_BITS = 2048
DEV_KID_PREFIX = "dev-"


class KeySetError(Exception):
    pass


@dataclass(frozen=True)
class VerifyKey:
    kid: str
    algorithm: str  # "EdDSA" or "RS256"
    key: ed25519.Ed25519PublicKey | rsa.RSAPublicKey


def _algorithm_of(jwk: dict[str, Any]) -> str:
    """The algorithm the key's type allows, or the reason it is not taken."""
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty == "OKP" and crv == "Ed25519":
        algorithm = "EdDSA"
    elif kty == "RSA":
        algorithm = "RS256"
    else:
        raise InvalidKeyError(f"key type {kty}/{crv} is not allowed (Ed25519 or RSA only)")
    if jwk.get("alg", algorithm) != algorithm:
        raise InvalidKeyError(f"alg {jwk.get('alg')!r} is not allowed for a {kty} key")
    if jwk.get("use", "sig") != "sig":
        raise InvalidKeyError("not a signing key (use is not sig)")
    if "d" in jwk:
        raise InvalidKeyError("holds private key material")
    return algorithm


def parse_jwks(document: dict[str, Any], production: bool) -> dict[str, VerifyKey]:
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise KeySetError("a JWKS needs a list `keys`")
    keys: dict[str, VerifyKey] = {}
    for jwk in entries:
        kid = jwk.get("kid") if isinstance(jwk, dict) else None
        if not isinstance(kid, str) or not kid:
            log.warning("JWKS: a key without a kid is ignored")
            continue
        if production and kid.startswith(DEV_KID_PREFIX):
            raise KeySetError(f"the JWKS holds the development key {kid!r}: refused in "
                              f"production")
        try:
            algorithm = _algorithm_of(jwk)
            key = (OKPAlgorithm.from_jwk(jwk) if algorithm == "EdDSA"
                   else RSAAlgorithm.from_jwk(jwk))
            if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
                raise InvalidKeyError(f"RSA key of {key.key_size} bits (at least {MIN_RSA_BITS})")
            if not isinstance(key, ed25519.Ed25519PublicKey | rsa.RSAPublicKey):
                raise InvalidKeyError("not a public key")
        except (InvalidKeyError, ValueError, TypeError) as exc:
            log.warning("JWKS: key %s ignored: %s", kid, exc)
            continue
        keys[kid] = VerifyKey(kid, algorithm, key)
    if not keys:
        raise KeySetError("the JWKS holds no usable signing key (Ed25519 or RSA 2048+)")
    return keys


class KeySet:
    def __init__(self, source: str, production: bool = False,
                 unknown_kid_interval_s: float = UNKNOWN_KID_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.source = source
        self.production = production
        self.unknown_kid_interval_s = unknown_kid_interval_s
        self.clock = clock
        self.keys: dict[str, VerifyKey] = {}
        self.session: aiohttp.ClientSession | None = None
        self._last_unknown = float("-inf")
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        """Reads the JWKS; raises SourceError or KeySetError (nothing changes then)."""
        keys = parse_jwks(await read_json(self.source, self.session), self.production)
        if set(keys) != set(self.keys):
            log.info("token signing keys: %s", ", ".join(sorted(keys)))
        self.keys = keys

    async def refresh(self) -> bool:
        """load(), keeping the keys held when it fails; True when it succeeded."""
        try:
            await self.load()
        except (SourceError, KeySetError) as exc:
            log.warning("the JWKS could not be refreshed (keeping %d keys): %s",
                        len(self.keys), exc)
            return False
        return True

    async def key(self, kid: str) -> VerifyKey | None:
        """The key named `kid`; an unknown one makes the set be read again first (rate-limited)."""
        found = self.keys.get(kid)
        if found is not None:
            return found
        async with self._lock:
            found = self.keys.get(kid)  # read by a call that held the lock before this one
            if found is not None or self.clock() - self._last_unknown < self.unknown_kid_interval_s:
                return found
            self._last_unknown = self.clock()
            await self.refresh()
            return self.keys.get(kid)
