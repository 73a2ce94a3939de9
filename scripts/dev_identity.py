"""The identity of a local stack (development, tests, benches, the demo): one folder, generated on
first use and never committed.

    signing-key.json   the Ed25519 private key (a JWK, kid "dev-<date>-<hex>", mode 0600)
    jwks.json          the public keys the services trust (CDSP_TOKEN_JWKS as a file, or served
                       by scripts/local_issuer.py)
    revocations.json   the revocation list (runtime/revocations.py documents the format)
    users.json         local users for the issuer's password login: salted scrypt hashes, role,
                       jurisdictions, person, wards, and whether they may revoke (admin)
    dev-password       the one password of the development users (mode 0600; `make up` and
                       `make demo` print it)

Production never reads any of this: its services refuse a kid starting "dev-", a JWKS file and
plain http.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from runtime.token_signing import (
    DEFAULT_ISSUER,
    SERVICE_AUDIENCES,
    SigningKey,
    generate_key,
    jwks,
    load_key,
    mint_token,
    save_key,
)

DEV_KID_PREFIX = "dev-"
# scrypt's cost: 2^14 iterations of 8 x 128-byte blocks (16 MiB), about 50 ms a check here.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


def write_json(path: Path, document: dict[str, Any], mode: int = 0o644) -> None:
    """Replaces the file at once (a reader sees the old document or the new, never half)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(document, out, ensure_ascii=False, indent=1)
    os.replace(temporary, path)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            dklen=32)
    encode = base64.b64encode
    return (f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${encode(salt).decode()}$"
            f"{encode(digest).decode()}")


def check_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n),
                                r=int(r), p=int(p), dklen=len(expected))
    except ValueError:
        return False
    return kind == "scrypt" and hmac.compare_digest(actual, expected)


class LocalIdentity:
    def __init__(self, folder: Path, issuer: str = DEFAULT_ISSUER) -> None:
        self.folder = folder
        self.issuer = issuer
        self.key_path = folder / "signing-key.json"
        self.jwks_path = folder / "jwks.json"
        self.revocations_path = folder / "revocations.json"
        self.users_path = folder / "users.json"
        self.password_path = folder / "dev-password"

    def ensure(self) -> LocalIdentity:
        """The key pair, JWKS and an empty revocation list, made when missing."""
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        if not self.key_path.exists():
            key = generate_key(DEV_KID_PREFIX)
            save_key(key, self.key_path)
            self.publish([key])
        if not self.revocations_path.exists():
            write_json(self.revocations_path, {"tokens": {}, "subjects": {}})
        return self

    @functools.cached_property
    def key(self) -> SigningKey:
        return load_key(self.ensure().key_path)

    def publish(self, keys: Sequence[SigningKey]) -> None:
        """The JWKS holds exactly these public keys (a rotation publishes old and new)."""
        write_json(self.jwks_path, jwks(keys))

    def mint(self, subject: str, role: str, scopes: Sequence[str], ttl_s: int = 3600,
             audience: str | Sequence[str] = SERVICE_AUDIENCES, **claims: Any) -> str:
        return mint_token(self.key, subject, role, scopes, ttl_s, audience, self.issuer,
                          **claims)

    # ------------------------------------------------------------ revocations

    def revocations(self) -> dict[str, dict[str, int]]:
        document: dict[str, dict[str, int]] = json.loads(
            self.revocations_path.read_text(encoding="utf-8"))
        return document

    def revoke(self, token_id: str = "", subject: str = "", expires_at: int = 0,
               max_lifetime_s: int = 12 * 3600) -> None:
        """Adds a token (by jti; kept until its exp, default the longest a token lives) or a
        subject (every token issued until now); entries of tokens expired drop out."""
        document = self.revocations()
        now = int(time.time())
        tokens = {k: v for k, v in document.get("tokens", {}).items() if v >= now - 60}
        if token_id:
            tokens[token_id] = expires_at or now + max_lifetime_s
        subjects = dict(document.get("subjects", {}))
        if subject:
            subjects[subject] = now
        write_json(self.revocations_path, {"tokens": tokens, "subjects": subjects})

    # ------------------------------------------------------------ users

    def write_users(self, users: Iterable[dict[str, Any]], password: str) -> None:
        """The users file: every user gets `password` (hashed with a salt of their own)."""
        entries = {}
        for user in users:
            entry = {"password": hash_password(password), "role": user["role"],
                     "scopes": list(user["scopes"]), "person_id": user.get("person_id", ""),
                     "wards": list(user.get("wards", [])), "admin": bool(user.get("admin"))}
            entries[user["username"]] = entry
        write_json(self.users_path, {"users": entries}, mode=0o600)

    def users(self) -> dict[str, dict[str, Any]]:
        if not self.users_path.exists():
            return {}
        users: dict[str, dict[str, Any]] = json.loads(
            self.users_path.read_text(encoding="utf-8"))["users"]
        return users

    def dev_password(self) -> str:
        """The development users' password, made on first use (readable by its owner only)."""
        if not self.password_path.exists():
            self.ensure()
            fd = os.open(self.password_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(secrets.token_urlsafe(12) + "\n")
        return self.password_path.read_text(encoding="utf-8").strip()


@functools.cache
def local_identity(folder: Path) -> LocalIdentity:
    """One object per folder in a process (its key is read once)."""
    return LocalIdentity(folder)
