"""The local issuer (scripts/local_issuer.py) as its own process over an identity folder of this
module's own, and a registry that reads its keys and revocation list from the issuer's URLs: the
JWKS, password login (wrong passwords refused, then rate-limited), revocation by an admin only,
taking effect at the service within its refresh."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import grpc
import jwt
import pytest

import devstack
import local_issuer
from cdsp.registry.v1 import registry_pb2 as pb
from tests.helpers import stub
from tests.notification_helpers import wait_until

PASSWORD = "correct horse battery staple"
PERSON = "5f0c6c1e-2a43-4b8e-9d7a-0f6a7c1d2e3f"
USERS = [{"username": "admin", "role": "city_admin", "scopes": ["/3505/"], "admin": True},
         {"username": "gw-01", "role": "grid_worker", "scopes": ["/3505/350502/"]},
         {"username": "gw-02", "role": "grid_worker", "scopes": ["/3505/350502/"]},
         {"username": "resident", "role": "resident", "scopes": ["/3505/350502/"],
          "person_id": PERSON},
         {"username": "rate-limited", "role": "grid_worker", "scopes": ["/3505/"]}]


@pytest.fixture(scope="module")
def issued(stack: devstack.Stack, registry: str) -> Iterator[devstack.Stack]:
    """The issuer on the ports of a stack of this module's own (its own key and users), and a
    registry process of that stack reading the issuer's URLs (sharing the session's database)."""
    mine = devstack.Stack(state_dir=stack.state_dir / "issuer", pg_port=stack.pg_port,
                          kafka_port=stack.kafka_port, port_offset=stack.port_offset + 14,
                          metrics_offset=(stack.metrics_offset or 0) + 14,
                          revocations_refresh_s=1)
    mine.identity.ensure().write_users(USERS, PASSWORD)
    devstack.start_issuer(mine)
    try:
        devstack.start_service(mine, "registry", {"CDSP_SHUTDOWN_GRACE_S": "2"})
        yield mine
    finally:
        devstack.stop_service(mine, "registry")
        devstack.stop_issuer(mine)


def get(issued: devstack.Stack, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{issued.issuer_port}{path}",
                                timeout=5) as response:
        return json.loads(response.read())


def post(issued: devstack.Stack, path: str, body: dict[str, Any],
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(f"http://127.0.0.1:{issued.issuer_port}{path}",
                                     data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json",
                                              **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - http above
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def login(issued: devstack.Stack, username: str, password: str = PASSWORD,
          **extra: Any) -> tuple[int, dict[str, Any]]:
    return post(issued, "/token", {"username": username, "password": password, **extra})


def basic(username: str, password: str = PASSWORD) -> dict[str, str]:
    pair = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


def accepted(issued: devstack.Stack, token: str) -> bool:
    try:
        stub(issued.grpc_addr("registry"), token).ListJurisdictions(
            pb.ListJurisdictionsRequest())
    except grpc.RpcError as exc:
        assert exc.code() == grpc.StatusCode.UNAUTHENTICATED, exc.details()
        return False
    return True


def test_the_issuer_serves_its_public_keys_and_revocations(issued: devstack.Stack) -> None:
    keys = get(issued, "/jwks.json")["keys"]
    assert [(k["kid"][:4], k["kty"], k["crv"], k["alg"], k["use"]) for k in keys] == [
        ("dev-", "OKP", "Ed25519", "EdDSA", "sig")]
    assert not {"d", "p", "q"} & {name for k in keys for name in k}  # public halves only
    assert set(get(issued, "/revocations.json")) == {"tokens", "subjects"}
    configuration = get(issued, "/.well-known/openid-configuration")
    assert configuration["jwks_uri"] == f"{issued.issuer_url}/jwks.json"


def test_a_login_gets_a_token_the_service_accepts(issued: devstack.Stack) -> None:
    status, body = login(issued, "resident")
    assert status == 200 and body["token_type"] == "Bearer" and body["expires_in"] == 3600
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert (claims["sub"], claims["role"], claims["jur"], claims["cdsp_person"]) == (
        "resident", "resident", ["/3505/350502/"], PERSON)
    assert "cdsp-registry" in claims["aud"] and claims["jti"]
    status, body = login(issued, "gw-01")
    assert accepted(issued, body["access_token"])
    status, body = login(issued, "gw-01", audience="cdsp-aid")
    assert status == 200 and not accepted(issued, body["access_token"])
    assert login(issued, "gw-01", ttl=12 * 3600 + 1)[0] == 400


def test_a_wrong_password_is_refused_then_rate_limited(issued: devstack.Stack) -> None:
    wrong = login(issued, "rate-limited", "wrong password")
    unknown = login(issued, "nobody", "wrong password")
    assert wrong == unknown == (401, {"error": "invalid_grant"})  # which names exist: untold
    for _ in range(local_issuer.MAX_FAILURES - 1):
        assert login(issued, "rate-limited", "still wrong")[0] == 401
    status, body = login(issued, "rate-limited")  # the right password, too late
    assert (status, body) == (429, {"error": "too_many_failures"})
    assert login(issued, "gw-02")[0] == 200  # the others still sign in


def test_only_an_admin_revokes_and_the_service_follows(issued: devstack.Stack) -> None:
    token = login(issued, "gw-01")[1]["access_token"]
    jti = jwt.decode(token, options={"verify_signature": False})["jti"]
    assert post(issued, "/revoke", {"jti": jti})[0] == 401
    assert post(issued, "/revoke", {"jti": jti}, basic("gw-01"))[0] == 403
    assert post(issued, "/revoke", {"jti": jti}, basic("admin", "not it"))[0] == 401
    assert post(issued, "/revoke", {}, basic("admin"))[0] == 400
    assert accepted(issued, token)
    assert post(issued, "/revoke", {"jti": jti}, basic("admin")) == (200, {"revoked": {"jti": jti}})
    wait_until(lambda: not accepted(issued, token), "the revoked token is refused")
    later = login(issued, "gw-02")[1]["access_token"]
    assert accepted(issued, later)
    assert post(issued, "/revoke", {"subject": "gw-02"}, basic("admin"))[0] == 200
    wait_until(lambda: not accepted(issued, later), "the subject's tokens are refused")


def test_the_issuer_logs_no_password_token_or_username(issued: devstack.Stack) -> None:
    token = login(issued, "gw-01")[1]["access_token"]
    log = (issued.state_dir / "issuer.log").read_text()
    assert "token issued" in log and "login refused" in log
    for secret in (PASSWORD, "wrong password", token, token.split(".")[1], "gw-01",
                   "rate-limited"):
        assert secret not in log


def test_the_demo_signs_in_as_the_sample_communitys_workers(
        stack: devstack.Stack, capsys: pytest.CaptureFixture[str]) -> None:
    """What `make up` and `make demo` do: the issuer's users are the sample community's workers
    with one generated password, printed; the demo signs in with it (devstack.issuer_login)."""
    import sample_community

    demo = devstack.Stack(state_dir=stack.state_dir / "demo-issuer", pg_port=stack.pg_port,
                          kafka_port=stack.kafka_port, port_offset=stack.port_offset + 15,
                          metrics_offset=(stack.metrics_offset or 0) + 15)
    devstack.start_issuer(demo)
    try:
        identity = demo.identity
        assert set(identity.users()) == {u["username"] for u in sample_community.SIGN_INS}
        for path in (identity.users_path, identity.password_path, identity.key_path):
            assert path.stat().st_mode & 0o077 == 0, path  # the owner's only
        claims = jwt.decode(devstack.issuer_login(demo, "gw-02"),
                            options={"verify_signature": False})
        assert (claims["role"], claims["jur"]) == (
            "grid_worker", [sample_community.GRID_PATHS[sample_community.GRIDS[1]]])
        assert login(demo, "admin", identity.dev_password())[0] == 200
        devstack.status(demo)
        assert f"password {identity.dev_password()}" in capsys.readouterr().out
    finally:
        devstack.stop_issuer(demo)
