"""The local identity issuer of a development stack: an aiohttp server on 127.0.0.1 over one
identity folder (scripts/dev_identity.py). Started by `make up` (devstack) and by tests; never
used in production, where the city's own OIDC provider (Keycloak, ...) issues tokens.

    GET  /jwks.json          the public keys (the services' CDSP_TOKEN_JWKS)
    GET  /revocations.json   the revocation list (CDSP_TOKEN_REVOCATIONS)
    GET  /.well-known/openid-configuration   issuer, jwks_uri, token_endpoint
    POST /token              {"username", "password"[, "audience": name or list][, "ttl": s]} as
                             JSON or a form: a token of the user's role, jurisdictions, person and
                             wards -> {"access_token", "token_type": "Bearer", "expires_in"}.
                             A wrong username or password: 401, the same answer for both. After
                             MAX_FAILURES failed logins for a username (MAX_ADDRESS_FAILURES from
                             an address) within FAILURE_WINDOW_S, 429 until the window passes,
                             even with the right password
    POST /revoke             HTTP Basic of a user marked admin; {"jti"[, "exp"]} or {"subject"}
    POST /revoke/token       a holder revokes its own token (RFC 7009): form or JSON
                             {"token": "<access token>"}; 200 whether or not the token was good
                             (RFC 7009 section 2.2). The console calls it when a worker signs out

    python scripts/local_issuer.py --dir .local/identity [--port 18090] [--issuer cdsp]

prints one JSON line (url, pid) once ready. It logs outcomes only: never a token, a password or a
username.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import json
import os
import signal
import sys
import time
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

import jwt
from aiohttp import web

from dev_identity import LocalIdentity, check_password
from runtime.token_signing import SERVICE_AUDIENCES

MAX_FAILURES = 5
MAX_ADDRESS_FAILURES = 20  # several people behind one address (an office) mistype too
FAILURE_WINDOW_S = 15 * 60
MAX_TTL_S = 12 * 3600  # the services' default CDSP_TOKEN_MAX_LIFETIME_S
# Checked for an unknown username too, so an answer's time does not tell which names exist.
_DUMMY_HASH = ("scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$"
               "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")


def _note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class Failures:
    """Failed logins per key (a username, an address) in a sliding window."""

    def __init__(self, limit: int = MAX_FAILURES, window_s: float = FAILURE_WINDOW_S) -> None:
        self.limit, self.window_s = limit, window_s
        self._seen: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str) -> deque[float]:
        times = self._seen[key]
        while times and times[0] < time.monotonic() - self.window_s:
            times.popleft()
        return times

    def blocked(self, key: str) -> bool:
        return len(self._recent(key)) >= self.limit

    def record(self, key: str) -> None:
        self._recent(key).append(time.monotonic())


class Issuer:
    def __init__(self, identity: LocalIdentity, url: str = "") -> None:
        self.identity = identity
        self.url = url
        self.by_user, self.by_address = Failures(), Failures(MAX_ADDRESS_FAILURES)

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/jwks.json", self._file(self.identity.jwks_path))
        app.router.add_get("/revocations.json", self._file(self.identity.revocations_path))
        app.router.add_get("/.well-known/openid-configuration", self.configuration)
        app.router.add_post("/token", self.token)
        app.router.add_post("/revoke", self.revoke)
        app.router.add_post("/revoke/token", self.revoke_own)

    @staticmethod
    def _file(path: Path) -> Any:
        async def serve(request: web.Request) -> web.Response:
            return web.Response(body=await asyncio.to_thread(path.read_bytes),
                                content_type="application/json",
                                headers={"Cache-Control": "no-store"})
        return serve

    async def configuration(self, request: web.Request) -> web.Response:
        return web.json_response({"issuer": self.identity.issuer,
                                  "jwks_uri": f"{self.url}/jwks.json",
                                  "token_endpoint": f"{self.url}/token",
                                  "id_token_signing_alg_values_supported": ["EdDSA"]})

    async def _login(self, request: web.Request, username: str,
                     password: str) -> dict[str, Any] | web.Response:
        """The user, or the answer refusing them."""
        address = request.remote or ""
        if self.by_user.blocked(username) or self.by_address.blocked(address):
            _note("login refused: too many failures")
            return web.json_response({"error": "too_many_failures"}, status=429,
                                     headers={"Retry-After": str(int(FAILURE_WINDOW_S))})
        user = self.identity.users().get(username)
        stored = user["password"] if user else _DUMMY_HASH
        if not await asyncio.to_thread(check_password, password, stored) or user is None:
            self.by_user.record(username)
            self.by_address.record(address)
            _note("login refused: wrong username or password")
            return web.json_response({"error": "invalid_grant"}, status=401)
        return user

    async def token(self, request: web.Request) -> web.Response:
        body = await _body(request)
        username, password = str(body.get("username", "")), str(body.get("password", ""))
        user = await self._login(request, username, password)
        if isinstance(user, web.Response):
            return user
        audience = body.get("audience") or list(SERVICE_AUDIENCES)
        try:
            ttl = int(body.get("ttl", 3600))
        except (TypeError, ValueError):
            ttl = 0
        if not 1 <= ttl <= MAX_TTL_S or not isinstance(audience, str | list):
            return web.json_response({"error": "invalid_request"}, status=400)
        token = self.identity.mint(username, user["role"], user["scopes"], ttl, audience,
                                   person_id=user.get("person_id", ""),
                                   wards=user.get("wards", []))
        _note("token issued")
        return web.json_response({"access_token": token, "token_type": "Bearer",
                                  "expires_in": ttl}, headers={"Cache-Control": "no-store"})

    async def revoke(self, request: web.Request) -> web.Response:
        try:
            scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
            username, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            scheme = ""
        if scheme.lower() != "basic":
            return web.json_response({"error": "basic authentication required"}, status=401,
                                     headers={"WWW-Authenticate": 'Basic realm="cdsp"'})
        user = await self._login(request, username, password)
        if isinstance(user, web.Response):
            return user
        if not user.get("admin"):
            return web.json_response({"error": "only an admin user may revoke"}, status=403)
        body = await _body(request)
        token_id, subject = str(body.get("jti") or ""), str(body.get("subject") or "")
        if bool(token_id) == bool(subject):
            return web.json_response({"error": "give jti or subject"}, status=400)
        expires_at = body.get("exp")
        self.identity.revoke(token_id, subject,
                             expires_at if isinstance(expires_at, int) else 0, MAX_TTL_S)
        _note("revoked a token" if token_id else "revoked a subject's tokens")
        return web.json_response({"revoked": {"jti": token_id} if token_id
                                  else {"subject": subject}})


    async def revoke_own(self, request: web.Request) -> web.Response:
        """Holding a token is the right to end it: its jti is revoked until its exp. A token
        this issuer did not sign (or an expired one) changes nothing; the answer is the same."""
        token = str((await _body(request)).get("token") or "")
        key = self.identity.key
        try:
            claims = jwt.decode(token, key.private.public_key(), algorithms=[key.algorithm],
                                options={"verify_aud": False}, issuer=self.identity.issuer)
        except jwt.PyJWTError:
            _note("self-revocation of a token that does not verify: nothing done")
            return web.json_response({}, headers={"Cache-Control": "no-store"})
        if isinstance(claims.get("jti"), str) and isinstance(claims.get("exp"), int):
            self.identity.revoke(claims["jti"], expires_at=claims["exp"])
            _note("a token revoked by its holder")
        return web.json_response({}, headers={"Cache-Control": "no-store"})


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        if request.content_type == "application/json":
            body = await request.json()
        else:  # a form: a name given more than once (audience) becomes a list
            form = await request.post()
            body = {name: (values if len(values := form.getall(name)) > 1 else values[0])
                    for name in set(form.keys())}
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


async def serve(folder: Path, host: str, port: int, issuer: str) -> None:
    identity = LocalIdentity(folder, issuer).ensure()
    app = web.Application()
    handler = Issuer(identity)
    handler.routes(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    handler.url = f"http://{host}:{runner.addresses[0][1]}"
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    print(json.dumps({"url": handler.url, "pid": os.getpid()}), flush=True)
    try:
        await stopping.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, required=True, help="the identity folder")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18090)
    parser.add_argument("--issuer", default="cdsp")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.dir, args.host, args.port, args.issuer))


if __name__ == "__main__":
    main()
