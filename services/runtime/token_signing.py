"""Signing caller tokens: what an identity issuer does. The services never sign; they verify with
public keys only (runtime.tokens). Used by the local development issuer (scripts/local_issuer.py),
`python -m runtime.token_cli`, the demo, the tests and the benches.

A signing key is a private JWK (RFC 7517) in a JSON file: its `kid` names it in the issuer's JWKS
and in the header of every token it signs. Ed25519 (`EdDSA`) by default; RSA (`RS256`, 2048 bits or
more) too, as Keycloak signs by default.
"""

from __future__ import annotations

import json
import os
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from jwt.algorithms import OKPAlgorithm, RSAAlgorithm

from runtime.auth import ROLES, is_valid_path

# The audiences of the platform's services (CDSP_TOKEN_AUDIENCE defaults to cdsp-<service>): a
# development token is good for all of them unless asked otherwise.
PLATFORM_SERVICES = ("registry", "aid", "employment", "volunteer", "notification", "partner")
SERVICE_AUDIENCES = tuple(f"cdsp-{service}" for service in PLATFORM_SERVICES)
DEFAULT_ISSUER = "cdsp"
# The claim names a CDSP issuer writes (the services read the names their settings give).
CLAIM_ROLE, CLAIM_JURISDICTIONS, CLAIM_PERSON, CLAIM_WARDS = "role", "jur", "cdsp_person", \
    "cdsp_wards"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    algorithm: str  # "EdDSA" or "RS256"
    private: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey

    def public_jwk(self) -> dict[str, Any]:
        """The public half as a JWK, for the issuer's JWKS."""
        public = self.private.public_key()
        text = (OKPAlgorithm.to_jwk(public) if isinstance(public, ed25519.Ed25519PublicKey)
                else RSAAlgorithm.to_jwk(public))
        jwk: dict[str, Any] = json.loads(text)
        jwk.update(kid=self.kid, alg=self.algorithm, use="sig")
        return jwk

    def private_jwk(self) -> dict[str, Any]:
        text = (OKPAlgorithm.to_jwk(self.private) if isinstance(self.private,
                                                                 ed25519.Ed25519PrivateKey)
                else RSAAlgorithm.to_jwk(self.private))
        jwk: dict[str, Any] = json.loads(text)
        jwk.update(kid=self.kid, alg=self.algorithm, use="sig")
        return jwk


def generate_key(kid_prefix: str = "", algorithm: str = "EdDSA") -> SigningKey:
    """A new key pair whose kid is `kid_prefix` + the date + random hex (development keys start
    "dev-", which a production service refuses)."""
    kid = f"{kid_prefix}{time.strftime('%Y%m%d')}-{secrets.token_hex(4)}"
    if algorithm == "EdDSA":
        return SigningKey(kid, algorithm, ed25519.Ed25519PrivateKey.generate())
    if algorithm == "RS256":
        return SigningKey(kid, algorithm, rsa.generate_private_key(public_exponent=65537,
                                                                   key_size=2048))
    raise ValueError(f"algorithm must be EdDSA or RS256, got {algorithm!r}")


def save_key(key: SigningKey, path: Path) -> None:
    """Writes the private JWK readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(key.private_jwk(), out)


def load_key(path: Path) -> SigningKey:
    data = json.loads(path.read_text(encoding="utf-8"))
    kid, algorithm = data.get("kid"), data.get("alg")
    if not isinstance(kid, str) or not kid or algorithm not in ("EdDSA", "RS256"):
        raise ValueError(f"{path} is not a private signing JWK with a kid and alg EdDSA/RS256")
    private = (OKPAlgorithm.from_jwk(data) if algorithm == "EdDSA"
               else RSAAlgorithm.from_jwk(data))
    if not isinstance(private, ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey):
        raise ValueError(f"{path} holds a public key, not a private one")
    return SigningKey(kid, algorithm, private)


def jwks(keys: Sequence[SigningKey]) -> dict[str, Any]:
    return {"keys": [key.public_jwk() for key in keys]}


def mint_token(key: SigningKey, subject: str, role: str, scopes: Sequence[str],
               ttl_s: int = 3600, audience: str | Sequence[str] = SERVICE_AUDIENCES,
               issuer: str = DEFAULT_ISSUER, person_id: str = "",
               wards: Sequence[str] = (), issued_at: int | None = None,
               extra: dict[str, Any] | None = None) -> str:
    """A signed token with the OIDC claims (iss, sub, aud, exp, iat, jti) and the role,
    jurisdictions, own person and wards. `extra` adds or, with None values, removes claims (tests
    of what the services refuse)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(sorted(ROLES))}")
    if not scopes:
        raise ValueError("a token needs at least one jurisdiction")
    for scope in scopes:
        if not is_valid_path(scope):
            raise ValueError(f"jurisdiction {scope!r} must look like /3505/350502/")
    now = int(time.time()) if issued_at is None else issued_at
    claims: dict[str, Any] = {
        "iss": issuer, "sub": subject,
        "aud": audience if isinstance(audience, str) else list(audience),
        "iat": now, "exp": now + ttl_s, "jti": str(uuid.uuid4()),
        CLAIM_ROLE: role, CLAIM_JURISDICTIONS: list(scopes)}
    if person_id:
        claims[CLAIM_PERSON] = person_id
    if wards:
        claims[CLAIM_WARDS] = list(wards)
    for name, value in (extra or {}).items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return jwt.encode(claims, key.private, algorithm=key.algorithm, headers={"kid": key.kid})
