"""The console's session cookie: sealed so the browser can neither read nor change it, opened
only with a key the console holds, refused once expired; where to go after signing in."""

from __future__ import annotations

import base64
import os
import time

import pytest

from console.adapters.session import Session, SessionSealer
from console.config import load_console_settings, parse_session_keys
from console.entrypoints.pages.auth import safe_next
from runtime.settings import SettingsError


def _session(expires_in: int = 600) -> Session:
    return Session("header.claims.signature", "gw-01", "grid_worker", ("/3505/a/",),
                   int(time.time()) + expires_in)


def test_seal_and_open_round_trip_hides_the_token() -> None:
    sealer = SessionSealer({"k1": os.urandom(32)})
    cookie = sealer.seal(_session())
    assert cookie.startswith("k1.")
    assert "header.claims" not in cookie and "gw-01" not in cookie
    opened = sealer.open(cookie)
    assert opened is not None and opened.token == "header.claims.signature"
    assert opened.scopes == ("/3505/a/",) and opened.csrf


def test_altered_foreign_expired_or_empty_cookies_open_to_nothing() -> None:
    key = os.urandom(32)
    sealer = SessionSealer({"k1": key})
    cookie = sealer.seal(_session())
    kid, _, body = cookie.partition(".")
    altered = body[:10] + ("A" if body[10] != "A" else "B") + body[11:]
    assert sealer.open(f"{kid}.{altered}") is None
    assert SessionSealer({"k1": os.urandom(32)}).open(cookie) is None  # another console's key
    assert SessionSealer({"k2": key}).open(cookie) is None  # a key id it does not hold
    assert sealer.open(sealer.seal(_session(expires_in=-1))) is None
    for junk in ("", None, "k1.", "k1.!!!", "nodot"):
        assert sealer.open(junk) is None


def test_rotation_new_key_seals_old_key_still_opens() -> None:
    old, new = os.urandom(32), os.urandom(32)
    before = SessionSealer({"k1": old}).seal(_session())
    rotated = SessionSealer({"k2": new, "k1": old})
    assert rotated.open(before) is not None
    assert rotated.seal(_session()).startswith("k2.")


@pytest.mark.parametrize("text, problem", [
    ("", "is required"), ("k1", "kid:base64"), ("k1:" + base64.b64encode(b"short").decode(),
                                                "32 random bytes"),
    ("k1:" + base64.b64encode(b"x" * 32).decode() + ",k1:" + base64.b64encode(b"y" * 32).decode(),
     "appears twice")])
def test_session_keys_refused_with_the_rule(text: str, problem: str) -> None:
    with pytest.raises(SettingsError, match="CDSP_CONSOLE_SESSION_KEYS") as caught:
        parse_session_keys(text)
    assert problem in str(caught.value)


def test_production_refuses_insecure_cookies_and_plain_http(
        monkeypatch: pytest.MonkeyPatch) -> None:
    key = "k1:" + base64.b64encode(os.urandom(32)).decode()
    base = {"CDSP_ENV": "production", "CDSP_CONSOLE_SESSION_KEYS": key,
            "CDSP_CONSOLE_TOKEN_URL": "https://id.example/token"}
    assert load_console_settings(base).cookie_secure
    with pytest.raises(SettingsError, match="COOKIE_SECURE"):
        load_console_settings({**base, "CDSP_CONSOLE_COOKIE_SECURE": "false"})
    with pytest.raises(SettingsError, match="must be https"):
        load_console_settings({**base, "CDSP_CONSOLE_TOKEN_URL": "http://id.example/token"})
    with pytest.raises(SettingsError, match="CDSP_CONSOLE_TOKEN_URL is required"):
        load_console_settings({**base, "CDSP_CONSOLE_TOKEN_URL": ""})


@pytest.mark.parametrize("target, expected", [
    ("/persons?grade=1", "/persons?grade=1"), (None, "/"), ("", "/"),
    ("https://evil.example/", "/"), ("//evil.example/x", "/"), ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"), ("persons", "/")])
def test_only_local_paths_after_sign_in(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected
