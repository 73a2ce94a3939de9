"""Tokens at the running services (the session's JWKS and revocation list read as files, the list
every second): each refusal is UNAUTHENTICATED with a message saying why, a token is good for the
audiences it names only, and a StreamInbox call ends when its token expires or is revoked."""

from __future__ import annotations

from pathlib import Path

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from cdsp.aid.v1 import aid_pb2 as apb
from cdsp.notification.v1 import notification_pb2 as npb
from cdsp.registry.v1 import registry_pb2 as pb
from dev_identity import LocalIdentity
from tests.aid_helpers import aid_stub
from tests.helpers import Tree, rpc_error, session_identity, stub, token
from tests.notification_helpers import notify_stub, wait_until
from tests.token_issuers import claims, hand_made

UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED


def refusal(tree: Tree, tok: str) -> str:
    """The details of the UNAUTHENTICATED error a registry call with `tok` gets."""
    exc = rpc_error(stub(tree.addr, tok).GetStatistics,
                    pb.GetStatisticsRequest(jurisdiction_path=tree.city_path))
    assert exc.code() == UNAUTHENTICATED, (exc.code(), exc.details())
    return exc.details() or ""


def accepted(tree: Tree, tok: str) -> bool:
    try:
        stub(tree.addr, tok).GetStatistics(pb.GetStatisticsRequest(
            jurisdiction_path=tree.city_path))
    except grpc.RpcError as exc:
        assert exc.code() == UNAUTHENTICATED, (exc.code(), exc.details())
        return False
    return True


def token_id(tok: str) -> str:
    return str(jwt.decode(tok, options={"verify_signature": False})["jti"])


def test_the_main_refusals_say_why(tree: Tree, tmp_path: Path) -> None:
    scope = [tree.city_path]
    kid = session_identity().key.kid
    pem = session_identity().key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    cases = {
        "signed by a key the issuer does not publish":
            LocalIdentity(tmp_path / "stranger").mint("tester", "city_admin", scope),
        "not meant for this service (audience cdsp-registry)":
            token(scopes=scope, audience="cdsp-aid"),
        "it lives longer than the 43200 s allowed": token(scopes=scope, ttl=12 * 3600 + 60),
        "issued in the future (iat)": token(scopes=scope, issued_at=int(
            jwt.decode(token(), options={"verify_signature": False})["iat"]) + 600),
        "token expired": token(scopes=scope, ttl=-120),
        "the jti claim is required": token(scopes=scope, extra={"jti": None}),
        "its key signs with EdDSA only": hand_made(
            {"alg": "none", "kid": kid}, claims(jur=scope), None),
        "its key signs with EdDSA only (HS256)": hand_made(
            {"alg": "HS256", "kid": kid}, claims(jur=scope), pem),
    }
    for message, tok in cases.items():
        assert message.removesuffix(" (HS256)") in refusal(tree, tok), message
    assert accepted(tree, token(scopes=scope))


def test_a_token_is_good_for_the_audiences_it_names(tree: Tree, aid: str) -> None:
    for_registry = token(scopes=[tree.city_path], audience="cdsp-registry")
    assert accepted(tree, for_registry)
    exc = rpc_error(aid_stub(aid, for_registry).GetCase, apb.GetCaseRequest(
        case_id="00000000-0000-4000-8000-000000000000"))
    assert exc.code() == UNAUTHENTICATED
    assert "not meant for this service (audience cdsp-aid)" in (exc.details() or "")
    both = token(scopes=[tree.city_path], audience=["cdsp-registry", "cdsp-aid"])
    assert accepted(tree, both)
    found = rpc_error(aid_stub(aid, both).GetCase, apb.GetCaseRequest(
        case_id="00000000-0000-4000-8000-000000000000"))
    assert found.code() == grpc.StatusCode.NOT_FOUND


def test_revoked_tokens_are_refused_within_the_refresh(tree: Tree) -> None:
    issuer = session_identity()
    by_id, kept = token(scopes=[tree.city_path]), token(scopes=[tree.city_path])
    subject = f"lost-phone-{tree.city}"
    of_subject = token(scopes=[tree.city_path], subject=subject)
    assert accepted(tree, by_id) and accepted(tree, of_subject)
    issuer.revoke(token_id=token_id(by_id))
    issuer.revoke(subject=subject)
    wait_until(lambda: not accepted(tree, by_id), "the revoked token is refused")
    assert refusal(tree, by_id) == "token revoked"
    wait_until(lambda: not accepted(tree, of_subject), "the subject's token is refused")
    assert "every token of its subject" in refusal(tree, of_subject)
    assert accepted(tree, kept)


def open_stream(notification: str, tree: Tree, tok: str) -> grpc.Future:
    """A StreamInbox call of the city admin's own inbox, subscribed."""
    call = notify_stub(notification, tok).StreamInbox(
        npb.StreamInboxRequest(recipient_id="city-admin"), timeout=60)
    call.initial_metadata()
    return call


def ended(call: grpc.Future) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        next(call)  # type: ignore[call-overload]
    return raised.value


def test_a_stream_ends_when_its_token_expires(tree: Tree, notification: str) -> None:
    call = open_stream(notification, tree, token("city_admin", [tree.city_path],
                                                 subject="city-admin", ttl=3))
    exc = ended(call)
    assert (exc.code(), exc.details()) == (UNAUTHENTICATED, "token expired")


def test_a_stream_ends_when_its_token_is_revoked(tree: Tree, notification: str) -> None:
    revoked = token("city_admin", [tree.city_path], subject="city-admin")
    call = open_stream(notification, tree, revoked)
    other = open_stream(notification, tree, token("city_admin", [tree.city_path],
                                                  subject="city-admin"))
    session_identity().revoke(token_id=token_id(revoked))
    exc = ended(call)
    assert (exc.code(), exc.details()) == (UNAUTHENTICATED, "token revoked")
    other.cancel()
    assert ended(other).code() == grpc.StatusCode.CANCELLED  # it ran on until cancelled
