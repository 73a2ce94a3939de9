"""What the services take from the issuer: the keys of its JWKS (runtime.jwks) and its revocation
list (runtime.revocations), from files here (URLs: tests/integration/test_local_issuer.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from dev_identity import LocalIdentity, write_json
from runtime.json_source import SourceError, read_json
from runtime.jwks import KeySet, KeySetError, parse_jwks
from runtime.revocations import RevocationList, RevocationListError, parse_revocations
from runtime.settings import SettingsError
from runtime.token_signing import generate_key
from tests.token_issuers import loaded, new_issuer


@pytest.fixture
def issuer(tmp_path: Path) -> LocalIdentity:
    return new_issuer(tmp_path / "issuer")


def jwk_of(algorithm: str = "EdDSA", kid: str = "k-1", **changes: Any) -> dict[str, Any]:
    jwk = generate_key("", algorithm).public_jwk()
    jwk.update(kid=kid, **changes)
    return {k: v for k, v in jwk.items() if v is not None}


def small_rsa(kid: str) -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - refused
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid}


# ------------------------------------------------------------------ JWKS


def test_only_signing_keys_of_the_allowed_kinds_are_taken() -> None:
    ec = {"kty": "EC", "crv": "P-256", "kid": "ec", "x": "AA", "y": "AA"}
    hmac_key = {"kty": "oct", "kid": "oct", "k": "c2VjcmV0"}
    private = generate_key("").private_jwk() | {"kid": "private"}
    keys = parse_jwks({"keys": [
        jwk_of("EdDSA", "ed"), jwk_of("RS256", "rsa"), jwk_of("RS256", "rsa-no-alg", alg=None),
        jwk_of("RS256", "enc", use="enc"),               # Keycloak publishes one for encryption
        jwk_of("RS256", "ps", alg="PS256"),
        {k: v for k, v in jwk_of("EdDSA").items() if k != "kid"},
        small_rsa("rsa-1024"), ec, hmac_key, private, "not a key"]}, production=False)
    assert {kid: key.algorithm for kid, key in keys.items()} == {
        "ed": "EdDSA", "rsa": "RS256", "rsa-no-alg": "RS256"}


@pytest.mark.parametrize("document", [{}, {"keys": {}}, {"keys": []},
                                      {"keys": [{"kty": "oct", "kid": "o", "k": "c2VjcmV0"}]}])
def test_a_jwks_without_a_usable_key_is_refused(document: dict[str, Any]) -> None:
    with pytest.raises(KeySetError):
        parse_jwks(document, production=False)


def test_production_refuses_a_development_key() -> None:
    document = {"keys": [jwk_of("EdDSA", "city-2026"), jwk_of("EdDSA", "dev-20261202-ab")]}
    assert set(parse_jwks(document, production=False)) == {"city-2026", "dev-20261202-ab"}
    with pytest.raises(KeySetError, match="development key 'dev-20261202-ab'"):
        parse_jwks(document, production=True)


async def test_a_failed_refresh_keeps_the_keys(issuer: LocalIdentity) -> None:
    keys = KeySet(str(issuer.jwks_path))
    await keys.load()
    issuer.jwks_path.write_text("{not json")
    assert await keys.refresh() is False
    assert set(keys.keys) == {issuer.key.kid}
    issuer.jwks_path.unlink()
    assert await keys.refresh() is False
    assert set(keys.keys) == {issuer.key.kid}


async def test_a_service_does_not_start_without_its_keys(tmp_path: Path,
                                                         issuer: LocalIdentity) -> None:
    with pytest.raises(SettingsError, match=r"CDSP_TOKEN_JWKS: .*No such file"):
        await loaded(issuer, jwks=str(tmp_path / "missing.json"))
    write_json(tmp_path / "dev.json", {"keys": [issuer.key.public_jwk()]})
    with pytest.raises(SettingsError, match="development key"):
        await loaded(issuer, jwks=str(tmp_path / "dev.json"), production=True)
    issuer.revocations_path.write_text("[]")
    with pytest.raises(SettingsError, match=r"CDSP_TOKEN_REVOCATIONS: .*not a JSON object"):
        await loaded(issuer)


async def test_sources_are_bounded(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"keys": ["x" * 1024] * 1100}))
    with pytest.raises(SourceError, match="larger than"):
        await read_json(str(big))
    with pytest.raises(SourceError, match=r"ClientConnectorError|answered"):
        await read_json("http://127.0.0.1:9/jwks.json")  # the discard port: nobody listens


# ------------------------------------------------------------------ revocation lists


def test_a_revocation_list_names_tokens_and_subjects() -> None:
    found = parse_revocations({"tokens": {"j-1": 1900000000},
                               "subjects": {"lost-phone": 1800000000}})
    assert found.reason("j-1", "anyone", 1) == "token revoked"
    assert found.reason("j-2", "lost-phone", 1800000000) is not None
    assert found.reason("j-2", "lost-phone", 1800000001) is None
    assert found.reason("j-2", "someone", 1) is None
    assert parse_revocations({}) == RevocationList()


@pytest.mark.parametrize("document", [
    {"tokens": ["j-1"]}, {"tokens": {"j-1": "tomorrow"}}, {"subjects": {"s": True}},
    {"subjects": {"": 1}}, {"tokens": {"j" * 257: 1}}, {"subjects": {"s": 1.5}}])
def test_a_malformed_revocation_list_is_refused(document: dict[str, Any]) -> None:
    with pytest.raises(RevocationListError):
        parse_revocations(document)


async def test_a_malformed_refresh_keeps_the_list(issuer: LocalIdentity) -> None:
    verifier = await loaded(issuer)
    issuer.revoke(token_id="j-1")
    await verifier.refresh()
    write_json(issuer.revocations_path, {"tokens": ["j-1"]})
    assert await verifier.revocations.refresh() is False
    assert verifier.revocations.current.token_ids == {"j-1"}


async def test_without_a_list_nothing_is_revoked(issuer: LocalIdentity) -> None:
    verifier = await loaded(issuer, revocations="")
    await verifier.refresh()
    assert verifier.revocations.current == RevocationList()
    assert (await verifier.verify(issuer.mint("w", "grid_worker", ["/3505/"]))).caller


def test_the_local_issuer_prunes_expired_revocations(issuer: LocalIdentity) -> None:
    issuer.revoke(token_id="old", expires_at=1000)
    issuer.revoke(token_id="current")
    assert set(issuer.revocations()["tokens"]) == {"current"}
