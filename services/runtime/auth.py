"""Who is calling: signed tokens (JWT, HS256) naming the caller, their role and jurisdictions.

A jurisdiction is a path of codes from the city down, each between slashes
("/3505/350502/350502001/"). A caller may see everything at or below any of their paths.
"""

from __future__ import annotations

import re
import time
from contextvars import ContextVar
from dataclasses import dataclass

import jwt

from runtime.errors import PermissionDenied, Unauthenticated

PATH_RE = re.compile(r"/(?:[A-Za-z0-9-]{1,32}/){1,8}")
ROLES = frozenset({
    "grid_worker", "community_worker", "social_worker", "volunteer", "family_doctor",
    "street_admin", "district_admin", "city_admin", "service",
    # A resident signed in for themselves, a guardian acting for their wards, an auditor who
    # reads the audit log only, and a partner's subscriber principal (its event streams only).
    "resident", "guardian", "auditor", "subscriber",
})
ALGORITHM = "HS256"


def is_valid_path(path: str) -> bool:
    return bool(PATH_RE.fullmatch(path))


@dataclass(frozen=True)
class Caller:
    subject: str
    role: str
    scopes: tuple[str, ...]
    # Who vouched for the caller and which token it was (the audit log records both).
    issuer: str = ""
    token_id: str = ""
    # A resident's own person id; a guardian's wards (person ids): they see those only.
    person_id: str = ""
    wards: tuple[str, ...] = ()
    # Set when a city admin reads outside their jurisdictions with a stated reason (the
    # x-cdsp-break-glass metadata): the audit log records it and the jurisdiction is told.
    break_glass: str = ""

    def covers(self, path: str) -> bool:
        """True when `path` lies at or below one of the caller's jurisdictions."""
        return any(path.startswith(scope) for scope in self.scopes)

    def require_scope(self, path: str, what: str = "this record") -> None:
        if not self.covers(path):
            raise PermissionDenied(f"{what} is outside your jurisdictions")

    def require_role(self, *roles: str) -> None:
        if self.role not in roles:
            raise PermissionDenied(f"role {self.role!r} may not do this; needs one of "
                                   f"{', '.join(sorted(roles))}")

    @property
    def row_filter(self) -> str:
        """The caller's scopes as LIKE patterns, for the row-level security setting."""
        return ",".join(scope + "%" for scope in self.scopes)


SYSTEM = Caller(subject="system", role="service", scopes=("/",))

_current: ContextVar[Caller | None] = ContextVar("cdsp_caller", default=None)


def current_caller() -> Caller:
    caller = _current.get()
    if caller is None:
        raise Unauthenticated("no caller in this context")
    return caller


def current_caller_or_none() -> Caller | None:
    """The caller of this call, if a token was verified (the audit log records who tried)."""
    return _current.get()


def set_current_caller(caller: Caller | None) -> object:
    return _current.set(caller)


def mint_token(secret: str, subject: str, role: str, scopes: list[str], ttl_s: int = 3600,
               issuer: str = "cdsp", person_id: str = "", wards: tuple[str, ...] = ()) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(sorted(ROLES))}")
    if not scopes:
        raise ValueError("a token needs at least one jurisdiction")
    for scope in scopes:
        if not is_valid_path(scope):
            raise ValueError(f"jurisdiction {scope!r} must look like /3505/350502/")
    now = int(time.time())
    claims: dict[str, object] = {"sub": subject, "role": role, "jur": scopes, "iss": issuer,
                                 "iat": now, "exp": now + ttl_s}
    if person_id:
        claims["cdsp_person"] = person_id
    if wards:
        claims["cdsp_wards"] = list(wards)
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


class TokenCache:
    """Verified tokens, kept until they expire: a client sends the same token with every call,
    and verifying its signature is a noticeable share of a short call's CPU."""

    def __init__(self, secret: str, issuer: str, size: int = 4096) -> None:
        self.secret = secret
        self.issuer = issuer
        self.size = size
        self._entries: dict[str, tuple[Caller, float]] = {}

    def verify(self, token: str) -> Caller:
        entry = self._entries.get(token)
        if entry is not None and entry[1] > time.time():
            return entry[0]
        caller = verify_token(token, self.secret, self.issuer)
        expires = float(jwt.decode(token, options={"verify_signature": False})["exp"])
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[token] = (caller, expires)
        return caller


def verify_token(token: str, secret: str, issuer: str = "cdsp") -> Caller:
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], issuer=issuer, leeway=30,
                            options={"require": ["exp", "sub", "iss", "iat"]})
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("token expired") from None
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"invalid token: {exc}") from None
    role = claims.get("role")
    scopes = claims.get("jur")
    if "\x00" in str(claims["sub"]):  # the subject is stored as text (who did what)
        raise Unauthenticated("invalid token: sub must not contain the NUL character")
    if role not in ROLES:
        raise Unauthenticated("invalid token: unknown role")
    if (not isinstance(scopes, list) or not scopes
            or not all(isinstance(s, str) and is_valid_path(s) for s in scopes)):
        raise Unauthenticated("invalid token: jur must be a non-empty list of jurisdiction paths")
    person, wards = claims.get("cdsp_person", ""), claims.get("cdsp_wards", [])
    if not isinstance(person, str) or not isinstance(wards, list) or not all(
            isinstance(w, str) for w in wards):
        raise Unauthenticated("invalid token: cdsp_person must be a person id, cdsp_wards a list")
    if role == "resident" and not person:
        raise Unauthenticated("invalid token: a resident's token names their person "
                              "(cdsp_person)")
    if role == "guardian" and not wards:
        raise Unauthenticated("invalid token: a guardian's token names their wards "
                              "(cdsp_wards)")
    return Caller(subject=str(claims["sub"]), role=role, scopes=tuple(scopes),
                  issuer=str(claims["iss"]), token_id=str(claims.get("jti", "")),
                  person_id=person, wards=tuple(wards))
