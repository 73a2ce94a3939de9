"""Verifying caller tokens with the identity issuer's public keys only.

A token is accepted when: its header names a known `kid` (runtime.jwks) and its signature
verifies with that key's own algorithm (EdDSA or RS256; `none`, HS256 and anything else are
refused whatever the header says); it carries iss, sub, aud, exp, iat and jti; `iss` is
CDSP_TOKEN_ISSUER; `aud` (a string or a list) names this service's CDSP_TOKEN_AUDIENCE; it has not
expired and was not issued in the future (LEEWAY_S of clock skew either way); it lives no longer
than CDSP_TOKEN_MAX_LIFETIME_S; the revocation list does not name it or its subject
(runtime.revocations); and its role, jurisdictions, person and wards are well formed
(runtime.token_claims).

Verified tokens are cached (a client sends the same token with every call) until the JWKS is read
again; expiry, the key and the revocation list are checked on every call. A server-streaming call
holds its token for as long as it runs: `watch` ends it when the token expires, or when a refresh
of the revocation list (or of the keys) withdraws it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt

from runtime.auth import Caller
from runtime.errors import Unauthenticated
from runtime.json_source import SourceError
from runtime.jwks import UNKNOWN_KID_INTERVAL_S, KeySet, KeySetError, VerifyKey
from runtime.metrics import TOKEN_KEYS, TOKEN_REFRESH_FAILURES, TOKEN_REVOCATIONS_AGE
from runtime.revocations import RevocationListError, Revocations
from runtime.settings import SettingsError
from runtime.token_claims import caller_from_claims
from runtime.token_settings import TokenSettings

log = logging.getLogger("cdsp.tokens")
LEEWAY_S = 30
REQUIRED_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "jti"]
CACHE_SIZE = 4096


@dataclass(frozen=True)
class Verified:
    caller: Caller
    kid: str
    issued_at: int
    expires_at: int


class TokenVerifier:
    def __init__(self, settings: TokenSettings, clock: Callable[[], float] = time.time,
                 unknown_kid_interval_s: float = UNKNOWN_KID_INTERVAL_S) -> None:
        self.settings = settings
        self.clock = clock
        self.keys = KeySet(settings.jwks, settings.production, unknown_kid_interval_s)
        self.revocations = Revocations(settings.revocations)
        self._cache: dict[str, Verified] = {}
        self._cached_with: dict[str, VerifyKey] = {}  # the keys the cached tokens verified with
        self._streams: dict[asyncio.Future[str], Verified] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def load(self) -> None:
        """The first read of the keys and the revocation list: a service that cannot know which
        tokens are good does not start (SettingsError naming what could not be read)."""
        try:
            await self.keys.load()
        except (SourceError, KeySetError) as exc:
            raise SettingsError(f"CDSP_TOKEN_JWKS: {exc}") from None
        try:
            await self.revocations.load()
        except (SourceError, RevocationListError) as exc:
            raise SettingsError(f"CDSP_TOKEN_REVOCATIONS: {exc}") from None
        TOKEN_KEYS.set(len(self.keys.keys))
        TOKEN_REVOCATIONS_AGE.set_function(self.revocations.age_s)

    def start(self) -> None:
        session = aiohttp.ClientSession()
        self.keys.session = self.revocations.session = session
        self._tasks = [
            asyncio.create_task(self._every(self.settings.jwks_refresh_s, self._refresh_keys),
                                name="token-keys"),
            asyncio.create_task(self._every(self.settings.revocations_refresh_s,
                                            self._refresh_revocations), name="token-revocations")]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.keys.session is not None:
            await self.keys.session.close()

    async def verify(self, token: str) -> Verified:
        if self._cached_with is not self.keys.keys:  # the JWKS was read again: verify anew
            self._cache.clear()
            self._cached_with = self.keys.keys
        verified = self._cache.get(token)
        if verified is None:
            verified = await self._verify_signed(token)
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[token] = verified
        self._check_current(verified)
        return verified

    async def _verify_signed(self, token: str) -> Verified:
        s = self.settings
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("invalid token: not a signed JWT") from None
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthenticated("invalid token: its header names no key (kid)")
        key = await self.keys.key(kid)
        if key is None:
            raise Unauthenticated("invalid token: signed by a key the issuer does not publish")
        if header.get("alg") != key.algorithm:
            raise Unauthenticated(f"invalid token: its key signs with {key.algorithm} only")
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key.key, algorithms=[key.algorithm], audience=s.audience,
                issuer=s.issuer, leeway=LEEWAY_S, options={"require": REQUIRED_CLAIMS})
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("token expired") from None
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthenticated(f"invalid token: the {exc.claim} claim is required") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated(f"invalid token: not meant for this service (audience "
                                  f"{s.audience})") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated(f"invalid token: not issued by {s.issuer}") from None
        except jwt.ImmatureSignatureError:
            raise Unauthenticated("invalid token: issued in the future (iat)") from None
        except jwt.InvalidSignatureError:
            raise Unauthenticated("invalid token: the signature does not verify") from None
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid token: {exc}") from None
        issued_at, expires_at = int(claims["iat"]), int(claims["exp"])
        if expires_at - issued_at > s.max_lifetime_s:
            raise Unauthenticated(f"invalid token: it lives longer than the {s.max_lifetime_s} s "
                                  f"allowed (exp - iat)")
        return Verified(caller_from_claims(claims, s), kid, issued_at, expires_at)

    def _check_current(self, verified: Verified) -> None:
        """What can change after a token was verified: the clock, the keys, the list."""
        if self.clock() >= verified.expires_at + LEEWAY_S:
            raise Unauthenticated("token expired")
        if verified.kid not in self.keys.keys:
            raise Unauthenticated("invalid token: its signing key was withdrawn by the issuer")
        caller = verified.caller
        reason = self.revocations.current.reason(caller.token_id, caller.subject,
                                                 verified.issued_at)
        if reason is not None:
            raise Unauthenticated(reason)

    @contextlib.asynccontextmanager
    async def watch(self, verified: Verified) -> AsyncIterator[asyncio.Future[str]]:
        """A future that gets the reason the token stopped being good: "token expired" at its
        exp, or what a later refresh of the revocation list or of the keys found."""
        loop = asyncio.get_running_loop()
        ended: asyncio.Future[str] = loop.create_future()
        timer = loop.call_later(max(0.0, verified.expires_at - self.clock()), _end, ended,
                                "token expired")
        self._streams[ended] = verified
        try:
            yield ended
        finally:
            timer.cancel()
            self._streams.pop(ended, None)

    async def refresh(self) -> None:
        """Reads the keys and the revocation list again now, and ends the streams whose token
        they withdraw (what the timers do every refresh interval)."""
        await self._refresh_keys()
        await self._refresh_revocations()
        self._recheck_streams()

    def _recheck_streams(self) -> None:
        for ended, verified in list(self._streams.items()):
            try:
                self._check_current(verified)
            except Unauthenticated as exc:
                _end(ended, exc.message)

    async def _refresh_keys(self) -> None:
        if not await self.keys.refresh():
            TOKEN_REFRESH_FAILURES.labels("jwks").inc()
        TOKEN_KEYS.set(len(self.keys.keys))

    async def _refresh_revocations(self) -> None:
        if not await self.revocations.refresh():
            TOKEN_REFRESH_FAILURES.labels("revocations").inc()

    async def _every(self, interval_s: float, refresh: Callable[[], Any]) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await refresh()
                self._recheck_streams()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("token refresh failed")


def _end(ended: asyncio.Future[str], reason: str) -> None:
    if not ended.done():
        ended.set_result(reason)
