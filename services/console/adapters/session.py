"""The signed-in worker's session, kept in one cookie sealed with AES-256-GCM (so the browser
can neither read the token inside nor change it) and marked HttpOnly, SameSite=Lax and Secure.
The console keeps no session store: nothing of a worker is on its disk or in its memory between
requests.

The cookie holds the access token, the time it expires, and the CSRF token that every form
posts back (a page of another site cannot read it, so it cannot forge a post)."""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import time
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

COOKIE = "cdsp_session"
AAD = b"cdsp-console-session-v1"


@dataclass(frozen=True)
class Session:
    token: str
    subject: str
    role: str
    scopes: tuple[str, ...]
    expires_at: int
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    def expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.expires_at


class SessionSealer:
    def __init__(self, keys: dict[str, bytes]) -> None:
        self._keys = {kid: AESGCM(key) for kid, key in keys.items()}
        self._sealing = next(iter(keys))

    def seal(self, session: Session) -> str:
        body = json.dumps({"t": session.token, "s": session.subject, "r": session.role,
                           "j": list(session.scopes), "e": session.expires_at,
                           "c": session.csrf}, separators=(",", ":")).encode()
        nonce = os.urandom(12)
        sealed = self._keys[self._sealing].encrypt(nonce, body, AAD)
        return f"{self._sealing}.{_b64(nonce + sealed)}"

    def open(self, cookie: str | None) -> Session | None:
        """The session in the cookie, or None when there is none, it was sealed with a key no
        longer held, it was altered, or it expired."""
        if not cookie:
            return None
        kid, _, encoded = cookie.partition(".")
        key = self._keys.get(kid)
        if key is None:
            return None
        try:
            raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            body = json.loads(key.decrypt(raw[:12], raw[12:], AAD))
            session = Session(token=body["t"], subject=body["s"], role=body["r"],
                              scopes=tuple(body["j"]), expires_at=int(body["e"]),
                              csrf=body["c"])
        except (InvalidTag, ValueError, KeyError, TypeError, binascii.Error):
            return None
        return None if session.expired() else session


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
