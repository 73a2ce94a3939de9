"""How a service verifies caller tokens, read from environment variables:

    CDSP_TOKEN_JWKS             the issuer's public keys (JWKS): a file path or an http(s) URL
                                (required; production: an https URL)
    CDSP_TOKEN_REVOCATIONS      the revocation list: a file path or an http(s) URL (production:
                                required, an https URL; development: empty means none)
    CDSP_TOKEN_ISSUER           the `iss` tokens must carry                      (cdsp)
    CDSP_TOKEN_AUDIENCE         the `aud` this service accepts              (cdsp-<service>)
    CDSP_TOKEN_MAX_LIFETIME_S   the longest exp - iat accepted                   (43200, 12 h)
    CDSP_TOKEN_JWKS_REFRESH_S   how often the JWKS is read again                 (300)
    CDSP_TOKEN_REVOCATIONS_REFRESH_S  how often the revocation list is read again (30; at most 60)
    CDSP_TOKEN_CLAIM_ROLE, _JURISDICTIONS, _PERSON, _WARDS   the claim names of the caller's role,
                                jurisdictions, own person id and wards (role, jur, cdsp_person,
                                cdsp_wards): a city's own OIDC provider may name them otherwise

Why 12 hours at most: a token is a bearer credential; until it expires only the revocation list
can stop it, and a list that cannot be fetched stops nothing. One working day (a shift with its
overtime) fits in 12 hours, so nobody signs in twice a day, and a token that leaked or was left
on a shared computer is dead by the next morning. Longer-lived access is for refresh tokens,
which stay with the identity provider and are never sent to the services.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from runtime.settings import SettingsError, env_int

REGISTERED_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "iat", "nbf", "jti"})


@dataclass(frozen=True)
class TokenSettings:
    jwks: str
    revocations: str
    issuer: str
    audience: str
    max_lifetime_s: int = 12 * 3600
    jwks_refresh_s: int = 300
    revocations_refresh_s: int = 30
    claim_role: str = "role"
    claim_jurisdictions: str = "jur"
    claim_person: str = "cdsp_person"
    claim_wards: str = "cdsp_wards"
    production: bool = False


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def load_token_settings(service: str, production: bool) -> TokenSettings:
    env = os.environ
    jwks = env.get("CDSP_TOKEN_JWKS", "").strip()
    revocations = env.get("CDSP_TOKEN_REVOCATIONS", "").strip()
    if not jwks:
        raise SettingsError("CDSP_TOKEN_JWKS is required: the identity issuer's public keys "
                            "(a JWKS file, or its https URL)")
    if production:
        for name, value in (("CDSP_TOKEN_JWKS", jwks), ("CDSP_TOKEN_REVOCATIONS", revocations)):
            if not value.startswith("https://"):
                raise SettingsError(f"{name} in production must be an https URL of the identity "
                                    f"issuer (a file or plain http can be swapped unnoticed)"
                                    if value else f"{name} is required in production")
    claims = {suffix: env.get(f"CDSP_TOKEN_CLAIM_{suffix}", "").strip() or default
              for suffix, default in (("ROLE", "role"), ("JURISDICTIONS", "jur"),
                                      ("PERSON", "cdsp_person"), ("WARDS", "cdsp_wards"))}
    for suffix, name in claims.items():
        if name in REGISTERED_CLAIMS:
            raise SettingsError(f"CDSP_TOKEN_CLAIM_{suffix} must not name the registered claim "
                                f"{name!r}")
    if len(set(claims.values())) != len(claims):
        raise SettingsError("CDSP_TOKEN_CLAIM_ROLE, _JURISDICTIONS, _PERSON and _WARDS must name "
                            "four different claims")
    audience = env.get("CDSP_TOKEN_AUDIENCE", "").strip() or f"cdsp-{service}"
    return TokenSettings(
        jwks=jwks, revocations=revocations,
        issuer=env.get("CDSP_TOKEN_ISSUER", "").strip() or "cdsp",
        audience=audience,
        max_lifetime_s=env_int("CDSP_TOKEN_MAX_LIFETIME_S", 12 * 3600, 60, 7 * 24 * 3600),
        jwks_refresh_s=env_int("CDSP_TOKEN_JWKS_REFRESH_S", 300, 10, 24 * 3600),
        # A revocation takes effect within a minute: never read the list less often.
        revocations_refresh_s=env_int("CDSP_TOKEN_REVOCATIONS_REFRESH_S", 30, 1, 60),
        claim_role=claims["ROLE"], claim_jurisdictions=claims["JURISDICTIONS"],
        claim_person=claims["PERSON"], claim_wards=claims["WARDS"], production=production)
