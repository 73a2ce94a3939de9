"""How a service verifies tokens, from the environment (runtime.token_settings)."""

from __future__ import annotations

import os

import pytest

from runtime.settings import SettingsError
from runtime.token_settings import TokenSettings, load_token_settings

JWKS = "https://id.city.example/realms/cdsp/protocol/openid-connect/certs"
REVOCATIONS = "https://id.city.example/cdsp/revocations.json"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("CDSP_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CDSP_TOKEN_JWKS", JWKS)
    monkeypatch.setenv("CDSP_TOKEN_REVOCATIONS", REVOCATIONS)
    return monkeypatch


def test_defaults() -> None:
    assert load_token_settings("aid", production=True) == TokenSettings(
        jwks=JWKS, revocations=REVOCATIONS, issuer="cdsp", audience="cdsp-aid",
        max_lifetime_s=43200, jwks_refresh_s=300, revocations_refresh_s=30, claim_role="role",
        claim_jurisdictions="jur", claim_person="cdsp_person", claim_wards="cdsp_wards",
        production=True)


def test_values_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"ISSUER": "https://id.city.example/realms/cdsp",
                        "AUDIENCE": "registry-api", "MAX_LIFETIME_S": "3600",
                        "JWKS_REFRESH_S": "60", "REVOCATIONS_REFRESH_S": "5",
                        "CLAIM_ROLE": "cdsp_role", "CLAIM_JURISDICTIONS": "cdsp_jur",
                        "CLAIM_PERSON": "person_id", "CLAIM_WARDS": "ward_ids"}.items():
        monkeypatch.setenv(f"CDSP_TOKEN_{name}", value)
    s = load_token_settings("registry", production=False)
    assert (s.issuer, s.audience, s.max_lifetime_s) == ("https://id.city.example/realms/cdsp",
                                                        "registry-api", 3600)
    assert (s.jwks_refresh_s, s.revocations_refresh_s) == (60, 5)
    assert (s.claim_role, s.claim_jurisdictions, s.claim_person, s.claim_wards) == (
        "cdsp_role", "cdsp_jur", "person_id", "ward_ids")


def test_development_takes_files_and_plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDSP_TOKEN_JWKS", "/srv/identity/jwks.json")
    monkeypatch.setenv("CDSP_TOKEN_REVOCATIONS", "http://127.0.0.1:18090/revocations.json")
    assert load_token_settings("aid", production=False).jwks == "/srv/identity/jwks.json"
    monkeypatch.delenv("CDSP_TOKEN_REVOCATIONS")
    assert load_token_settings("aid", production=False).revocations == ""


@pytest.mark.parametrize(("name", "value", "message"), [
    ("CDSP_TOKEN_JWKS", "/srv/identity/jwks.json", "CDSP_TOKEN_JWKS in production must be an "
                                                   "https URL"),
    ("CDSP_TOKEN_JWKS", "http://id.city.example/certs", "CDSP_TOKEN_JWKS in production"),
    ("CDSP_TOKEN_REVOCATIONS", "http://id.city.example/r.json", "CDSP_TOKEN_REVOCATIONS in "
                                                                "production"),
    ("CDSP_TOKEN_REVOCATIONS", "", "CDSP_TOKEN_REVOCATIONS is required in production"),
])
def test_production_takes_https_urls_only(monkeypatch: pytest.MonkeyPatch, name: str,
                                          value: str, message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=message):
        load_token_settings("aid", production=True)


def test_the_jwks_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CDSP_TOKEN_JWKS")
    with pytest.raises(SettingsError, match="CDSP_TOKEN_JWKS is required"):
        load_token_settings("aid", production=False)


@pytest.mark.parametrize(("name", "value"), [
    ("CDSP_TOKEN_MAX_LIFETIME_S", "0"), ("CDSP_TOKEN_MAX_LIFETIME_S", "a day"),
    ("CDSP_TOKEN_MAX_LIFETIME_S", str(8 * 24 * 3600)),
    ("CDSP_TOKEN_REVOCATIONS_REFRESH_S", "61"),  # a revocation takes effect within a minute
    ("CDSP_TOKEN_REVOCATIONS_REFRESH_S", "0"), ("CDSP_TOKEN_JWKS_REFRESH_S", "1")])
def test_numbers_out_of_bounds_name_the_variable(monkeypatch: pytest.MonkeyPatch, name: str,
                                                  value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_token_settings("aid", production=False)


@pytest.mark.parametrize(("env", "message"), [
    ({"CDSP_TOKEN_CLAIM_ROLE": "sub"}, "must not name the registered claim 'sub'"),
    ({"CDSP_TOKEN_CLAIM_WARDS": "aud"}, "registered claim 'aud'"),
    ({"CDSP_TOKEN_CLAIM_PERSON": "jur"}, "four different claims"),
])
def test_claim_names_must_be_distinct_and_not_registered(monkeypatch: pytest.MonkeyPatch,
                                                         env: dict[str, str],
                                                         message: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=message):
        load_token_settings("aid", production=False)
