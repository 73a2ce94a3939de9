"""Caller tokens and jurisdiction checks."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from runtime.auth import (
    SYSTEM,
    Caller,
    current_caller,
    is_valid_path,
    mint_token,
    set_current_caller,
    verify_token,
)
from runtime.errors import PermissionDenied, Unauthenticated

SECRET = "unit-test-signing-key-" + "k" * 48  # 64+ bytes: long enough for HS512 too
PATH = "/3505/350502/"


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    values: dict[str, object] = {"sub": "w-001", "role": "grid_worker", "jur": [PATH],
                                 "iss": "cdsp", "iat": now, "exp": now + 600}
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def signed(**overrides: object) -> str:
    return jwt.encode(claims(**overrides), SECRET, algorithm="HS256")


# ------------------------------------------------------------------ tokens


def test_round_trip() -> None:
    token = mint_token(SECRET, "w-001", "community_worker", [PATH, "/3505/350503/"])
    caller = verify_token(token, SECRET)
    assert caller == Caller(subject="w-001", role="community_worker",
                            scopes=(PATH, "/3505/350503/"), issuer="cdsp")


def test_wrong_key_is_rejected() -> None:
    token = mint_token("another-key-another-key-another-key", "w-001", "grid_worker", [PATH])
    with pytest.raises(Unauthenticated):
        verify_token(token, SECRET)


def test_expired_beyond_the_leeway_is_rejected() -> None:
    token = mint_token(SECRET, "w-001", "grid_worker", [PATH], ttl_s=-60)
    with pytest.raises(Unauthenticated, match="expired"):
        verify_token(token, SECRET)


def test_expired_within_the_30s_leeway_is_accepted() -> None:
    token = mint_token(SECRET, "w-001", "grid_worker", [PATH], ttl_s=-5)
    assert verify_token(token, SECRET).subject == "w-001"


def test_wrong_issuer_is_rejected() -> None:
    token = mint_token(SECRET, "w-001", "grid_worker", [PATH], issuer="someone-else")
    with pytest.raises(Unauthenticated):
        verify_token(token, SECRET)
    assert verify_token(token, SECRET, issuer="someone-else").role == "grid_worker"


def test_unknown_role_is_rejected() -> None:
    with pytest.raises(Unauthenticated, match="role"):
        verify_token(signed(role="superuser"), SECRET)
    with pytest.raises(Unauthenticated, match="role"):
        verify_token(signed(role=None), SECRET)


@pytest.mark.parametrize("jur", [
    [], "/3505/", ["3505/"], ["/3505"], ["/"], ["/35 05/"], ["/3505//"], [3505],
    ["/a/b/c/d/e/f/g/h/i/"], [PATH, "bad"],
    pytest.param(["/3505/\n"], id="trailing-newline"),
])
def test_malformed_jurisdictions_are_rejected(jur: object) -> None:
    with pytest.raises(Unauthenticated, match="jur"):
        verify_token(signed(jur=jur), SECRET)


def test_missing_jur_claim_is_rejected() -> None:
    with pytest.raises(Unauthenticated, match="jur"):
        verify_token(signed(jur=None), SECRET)


@pytest.mark.parametrize("claim", ["exp", "sub", "iss", "iat"])
def test_required_claims(claim: str) -> None:
    values = claims()
    del values[claim]
    with pytest.raises(Unauthenticated):
        verify_token(jwt.encode(values, SECRET, algorithm="HS256"), SECRET)


def b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_unsigned_token_is_rejected() -> None:
    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims())}."
    with pytest.raises(Unauthenticated):
        verify_token(token, SECRET)


def test_other_algorithm_is_rejected() -> None:
    token = jwt.encode(claims(), SECRET, algorithm="HS512")
    with pytest.raises(Unauthenticated):
        verify_token(token, SECRET)


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c"])
def test_garbage_is_rejected(token: str) -> None:
    with pytest.raises(Unauthenticated):
        verify_token(token, SECRET)


def test_tampered_payload_is_rejected() -> None:
    header, _, signature = mint_token(SECRET, "w-001", "grid_worker", [PATH]).split(".")
    forged = b64(claims(role="city_admin", jur=["/"]))
    with pytest.raises(Unauthenticated):
        verify_token(f"{header}.{forged}.{signature}", SECRET)


def test_mint_refuses_unknown_roles_and_bad_paths() -> None:
    with pytest.raises(ValueError, match="role"):
        mint_token(SECRET, "w-001", "superuser", [PATH])
    with pytest.raises(ValueError, match="jurisdiction"):
        mint_token(SECRET, "w-001", "grid_worker", ["/3505"])


# ------------------------------------------------------------------ paths and callers


@pytest.mark.parametrize(("path", "valid"), [
    ("/3505/", True), ("/3505/350502/350502001/g-01/", True), ("/", False), ("", False),
    ("3505/", False), ("/3505", False), ("/35%05/", False), ("/3505/../", False),
    ("/" + "a" * 33 + "/", False), ("/1/2/3/4/5/6/7/8/", True), ("/1/2/3/4/5/6/7/8/9/", False),
])
def test_is_valid_path(path: str, valid: bool) -> None:
    assert is_valid_path(path) is valid


def worker(*scopes: str, role: str = "grid_worker") -> Caller:
    return Caller(subject="w-001", role=role, scopes=scopes)


@pytest.mark.parametrize(("path", "covered"), [
    ("/3505/350502/", True),
    ("/3505/350502/x/", True),
    ("/3505/350502/350502001/g01/", True),
    ("/3505/350503/", False),
    ("/3505/3505021/", False),
    ("/3505/", False),
    ("/3506/350502/", False),
])
def test_covers(path: str, covered: bool) -> None:
    assert worker("/3505/350502/").covers(path) is covered


def test_covers_any_of_several_scopes() -> None:
    caller = worker("/3505/350502/", "/3506/")
    assert caller.covers("/3506/350602/")
    assert not caller.covers("/3507/")


def test_system_covers_everything() -> None:
    assert SYSTEM.covers("/3505/350502/")


def test_require_scope() -> None:
    caller = worker("/3505/350502/")
    caller.require_scope("/3505/350502/g01/")
    with pytest.raises(PermissionDenied, match="this record is outside"):
        caller.require_scope("/3505/350503/")


def test_require_role() -> None:
    caller = worker(PATH, role="volunteer")
    caller.require_role("volunteer", "grid_worker")
    with pytest.raises(PermissionDenied, match="'volunteer'"):
        caller.require_role("grid_worker", "city_admin")


def test_row_filter() -> None:
    assert worker("/3505/350502/", "/3506/").row_filter == "/3505/350502/%,/3506/%"
    assert SYSTEM.row_filter == "/%"


def test_current_caller() -> None:
    caller = worker(PATH)
    set_current_caller(caller)
    try:
        assert current_caller() is caller
    finally:
        set_current_caller(None)
    with pytest.raises(Unauthenticated):
        current_caller()


def test_token_cli_mints_a_token_the_services_accept(capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from runtime import token_cli

    monkeypatch.setenv("CDSP_TOKEN_SECRET", "k" * 40)
    token_cli.main(["--role", "street_admin", "--scope", "/3505/350502/350502001/",
                    "--subject", "admin-7", "--ttl", "600"])
    caller = verify_token(capsys.readouterr().out.strip(), "k" * 40)
    assert caller == Caller("admin-7", "street_admin", ("/3505/350502/350502001/",),
                            issuer="cdsp")
    with pytest.raises(SystemExit):
        token_cli.main(["--role", "mayor", "--scope", "/3505/"])


def test_a_subject_with_a_nul_is_rejected() -> None:
    """The subject is written to the database (the actor of every change): text it refuses is
    an invalid token, not an error deep inside a call."""
    with pytest.raises(Unauthenticated, match="NUL"):
        verify_token(signed(sub="w-\x00001"), SECRET)


def test_a_resident_and_a_guardian_carry_whom_they_act_for() -> None:
    resident = verify_token(mint_token(SECRET, "r-1", "resident", [PATH], person_id="p-1"),
                            SECRET)
    assert (resident.person_id, resident.wards) == ("p-1", ())
    guardian = verify_token(mint_token(SECRET, "g-1", "guardian", [PATH], wards=("p-1", "p-2")),
                            SECRET)
    assert guardian.wards == ("p-1", "p-2")
    with pytest.raises(Unauthenticated, match="cdsp_person"):
        verify_token(mint_token(SECRET, "r-2", "resident", [PATH]), SECRET)
    with pytest.raises(Unauthenticated, match="cdsp_wards"):
        verify_token(mint_token(SECRET, "g-2", "guardian", [PATH]), SECRET)
    with pytest.raises(Unauthenticated, match="cdsp_wards a list"):
        verify_token(signed(role="guardian", cdsp_wards="p-1"), SECRET)
