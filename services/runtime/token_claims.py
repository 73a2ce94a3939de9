"""The caller a verified token's claims describe: subject, role, jurisdictions, the issuer and the
token's id, and a resident's own person id or a guardian's wards (claim names from
TokenSettings: a city's OIDC provider may use its own)."""

from __future__ import annotations

import uuid
from typing import Any

from runtime.auth import ROLES, Caller, is_valid_path
from runtime.errors import Unauthenticated
from runtime.token_settings import TokenSettings

MAX_ID = 256  # subject and token id: stored as text (who did what, with which token)
MAX_WARDS = 50


def _text(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value or len(value) > MAX_ID:
        raise Unauthenticated(f"invalid token: {name} must be a string of 1-{MAX_ID} characters")
    if "\x00" in value:
        raise Unauthenticated(f"invalid token: {name} must not contain the NUL character")
    return value


def _person_id(value: Any, name: str) -> str:
    try:
        return str(uuid.UUID(value))
    except (ValueError, TypeError, AttributeError):
        raise Unauthenticated(f"invalid token: {name} must hold person ids (UUIDs)") from None


def caller_from_claims(claims: dict[str, Any], settings: TokenSettings) -> Caller:
    subject = _text(claims, "sub")
    token_id = _text(claims, "jti")
    role = claims.get(settings.claim_role)
    if not isinstance(role, str) or role not in ROLES:
        raise Unauthenticated(f"invalid token: unknown role (claim {settings.claim_role})")
    scopes = claims.get(settings.claim_jurisdictions)
    if (not isinstance(scopes, list) or not scopes
            or not all(isinstance(s, str) and is_valid_path(s) for s in scopes)):
        raise Unauthenticated(f"invalid token: {settings.claim_jurisdictions} must be a "
                              f"non-empty list of jurisdiction paths")
    person = claims.get(settings.claim_person)
    person_id = "" if person in (None, "") else _person_id(person, settings.claim_person)
    wards = claims.get(settings.claim_wards, [])
    if not isinstance(wards, list) or len(wards) > MAX_WARDS:
        raise Unauthenticated(f"invalid token: {settings.claim_wards} must be a list of at most "
                              f"{MAX_WARDS} person ids")
    if role == "resident" and not person_id:
        raise Unauthenticated(f"invalid token: a resident's token names their person "
                              f"({settings.claim_person})")
    if role == "guardian" and not wards:
        raise Unauthenticated(f"invalid token: a guardian's token names their wards "
                              f"({settings.claim_wards})")
    return Caller(subject=subject, role=role, scopes=tuple(scopes), issuer=str(claims["iss"]),
                  token_id=token_id, person_id=person_id,
                  wards=tuple(_person_id(w, settings.claim_wards) for w in wards))
