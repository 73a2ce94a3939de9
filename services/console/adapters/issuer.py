"""Signing in at the identity issuer: the username and password go to its token endpoint (the
local issuer in development; in production the city's OIDC provider's token endpoint with the
console's client), and the token that comes back is checked like the services check it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import aiohttp

from runtime.errors import Unauthenticated
from runtime.token_signing import SERVICE_AUDIENCES
from runtime.tokens import TokenVerifier, Verified

log = logging.getLogger("cdsp.console.issuer")


class SignInRefused(Exception):
    """Wrong username or password (the issuer does not say which)."""


class SignInLocked(Exception):
    """Too many failed tries: the issuer refuses for a while."""


class IssuerUnavailable(Exception):
    """The issuer could not be reached or answered nonsense."""


@dataclass(frozen=True)
class SignedIn:
    token: str
    verified: Verified


class Issuer:
    def __init__(self, token_url: str, verifier: TokenVerifier, ttl_s: int,
                 audience: str, revoke_url: str = "", client_id: str = "",
                 client_secret: str = "") -> None:
        self.token_url, self.verifier, self.ttl_s = token_url, verifier, ttl_s
        self.revoke_url = revoke_url
        self.client_id, self.client_secret = client_id, client_secret
        self.audiences = [audience, *SERVICE_AUDIENCES]
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()

    async def sign_in(self, username: str, password: str) -> SignedIn:
        assert self._http is not None
        # OAuth 2.0's password grant as a form (RFC 6749 4.3): what the local issuer and an
        # OIDC provider's token endpoint (Keycloak's direct access grant) both take. The
        # audiences ask for a token the five services accept; `ttl` is the local issuer's.
        form = [("grant_type", "password"), ("username", username), ("password", password),
                ("scope", "openid"), ("ttl", str(self.ttl_s)),
                *(("audience", audience) for audience in self.audiences)]
        if self.client_id:
            form += [("client_id", self.client_id), ("client_secret", self.client_secret)]
        try:
            async with self._http.post(self.token_url, data=form) as response:
                status = response.status
                body: Any = await response.json(content_type=None) if status < 500 else {}
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("identity issuer unreachable: %s", type(exc).__name__)
            raise IssuerUnavailable() from None
        if status == 429:
            raise SignInLocked()
        if status in (400, 401, 403):
            raise SignInRefused()
        token = body.get("access_token") if isinstance(body, dict) else None
        if status != 200 or not isinstance(token, str):
            log.warning("identity issuer answered %d", status)
            raise IssuerUnavailable()
        try:
            verified = await self.verifier.verify(token)
        except Unauthenticated as exc:
            log.warning("the issuer's token does not verify: %s", exc)
            raise IssuerUnavailable() from None
        return SignedIn(token, verified)

    async def revoke(self, token: str) -> bool:
        """Ends the token at the issuer (RFC 7009) so a copy of it is worth nothing; False when
        there is nowhere to revoke or the issuer could not be reached (the sign-out still
        drops the cookie; the token then lives until it expires)."""
        if not self.revoke_url:
            return False
        assert self._http is not None
        try:
            form = {"token": token, "token_type_hint": "access_token"}
            if self.client_id:
                form.update(client_id=self.client_id, client_secret=self.client_secret)
            async with self._http.post(self.revoke_url, data=form) as response:
                if response.status == 200:
                    return True
                log.warning("token revocation answered %d", response.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("token revocation failed: %s", type(exc).__name__)
        return False
