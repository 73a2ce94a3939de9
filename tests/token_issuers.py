"""For the token tests: an issuer's identity folder of a test's own and a verifier reading it (the
JWKS and revocation list as files), and tokens forged by hand the way attackers make them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

from dev_identity import LocalIdentity
from runtime.token_settings import TokenSettings
from runtime.tokens import TokenVerifier

AUDIENCE = "cdsp-registry"
PATH = "/3505/350502/"


def settings_for(issuer: LocalIdentity, **changes: Any) -> TokenSettings:
    values: dict[str, Any] = {"jwks": str(issuer.jwks_path),
                              "revocations": str(issuer.revocations_path), "issuer": "cdsp",
                              "audience": AUDIENCE}
    values.update(changes)
    return TokenSettings(**values)


async def loaded(issuer: LocalIdentity, **changes: Any) -> TokenVerifier:
    verifier = TokenVerifier(settings_for(issuer, **changes))
    await verifier.load()
    return verifier


def new_issuer(folder: Path) -> LocalIdentity:
    return LocalIdentity(folder).ensure()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    values: dict[str, Any] = {"iss": "cdsp", "sub": "w-001", "aud": [AUDIENCE], "iat": now,
                              "exp": now + 600, "jti": "forged-1", "role": "city_admin",
                              "jur": [PATH]}
    values.update(overrides)
    return values


def hand_made(header: dict[str, Any], payload: dict[str, Any], secret: bytes | None) -> str:
    """A JWT assembled by hand: unsigned (secret None) or HMAC-SHA256 with `secret`."""
    signing_input = (f"{b64(json.dumps(header).encode())}."
                     f"{b64(json.dumps(payload).encode())}")
    if secret is None:
        return signing_input + "."
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"
