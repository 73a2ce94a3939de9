"""Verifying caller tokens with the issuer's public keys (runtime.tokens): what is accepted, and
every way a token is refused. The issuer is an identity folder of each test's own (its JWKS and
revocation list read as files)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from dev_identity import LocalIdentity
from runtime.auth import Caller
from runtime.errors import Unauthenticated
from runtime.token_signing import generate_key, mint_token
from runtime.tokens import TokenVerifier
from tests.token_issuers import AUDIENCE, PATH, claims, hand_made, loaded, new_issuer

PERSON = "5f0c6c1e-2a43-4b8e-9d7a-0f6a7c1d2e3f"
WARD = "0b7e1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"


@pytest.fixture
def issuer(tmp_path: Path) -> LocalIdentity:
    return new_issuer(tmp_path / "issuer")


@pytest.fixture
async def verifier(issuer: LocalIdentity) -> TokenVerifier:
    return await loaded(issuer)


def mint(issuer: LocalIdentity, **kw: object) -> str:
    return issuer.mint(str(kw.pop("subject", "w-001")), str(kw.pop("role", "grid_worker")),
                       [PATH], **kw)  # type: ignore[arg-type]


async def refused(verifier: TokenVerifier, token: str, message: str) -> None:
    with pytest.raises(Unauthenticated, match=message):
        await verifier.verify(token)


# ------------------------------------------------------------------ accepted


async def test_a_token_names_its_caller(issuer: LocalIdentity, verifier: TokenVerifier) -> None:
    token = issuer.mint("r-001", "guardian", [PATH, "/3505/350503/"], person_id=PERSON.upper(),
                        wards=[WARD])
    verified = await verifier.verify(token)
    assert verified.caller == Caller(
        subject="r-001", role="guardian", scopes=(PATH, "/3505/350503/"), issuer="cdsp",
        token_id=verified.caller.token_id, person_id=PERSON, wards=(WARD,))
    assert len(verified.caller.token_id) == 36 and verified.kid == issuer.key.kid
    assert (await verifier.verify(token)) is verified  # cached


async def test_a_token_for_several_audiences_is_accepted(issuer: LocalIdentity,
                                                         verifier: TokenVerifier) -> None:
    token = mint(issuer, audience=["cdsp-aid", AUDIENCE])
    assert (await verifier.verify(token)).caller.subject == "w-001"


async def test_an_rs256_key_is_accepted_beside_ed25519(issuer: LocalIdentity) -> None:
    rsa_key = generate_key("city-", "RS256")
    issuer.publish([issuer.key, rsa_key])
    verifier = await loaded(issuer)
    token = mint_token(rsa_key, "w-001", "grid_worker", [PATH], audience=AUDIENCE)
    assert (await verifier.verify(token)).kid == rsa_key.kid
    assert (await verifier.verify(mint(issuer))).kid == issuer.key.kid


async def test_claim_names_are_settings(issuer: LocalIdentity) -> None:
    """A city's own OIDC provider may name the claims otherwise (Keycloak mappers, README)."""
    verifier = await loaded(issuer, claim_role="cdsp_role", claim_jurisdictions="cdsp_jur",
                            claim_person="person", claim_wards="wards")
    token = mint(issuer, role="resident", extra={
        "role": None, "jur": None, "cdsp_role": "resident", "cdsp_jur": [PATH],
        "person": PERSON})
    caller = (await verifier.verify(token)).caller
    assert (caller.role, caller.scopes, caller.person_id) == ("resident", (PATH,), PERSON)
    await refused(verifier, mint(issuer), "unknown role \\(claim cdsp_role\\)")


# ------------------------------------------------------------------ keys and algorithms


async def test_a_token_signed_by_another_key_is_refused(tmp_path: Path,
                                                        verifier: TokenVerifier) -> None:
    stranger = new_issuer(tmp_path / "stranger")
    await refused(verifier, mint(stranger), "signed by a key the issuer does not publish")


async def test_a_token_naming_our_kid_but_signed_by_another_key_is_refused(
        tmp_path: Path, issuer: LocalIdentity, verifier: TokenVerifier) -> None:
    other = new_issuer(tmp_path / "stranger").key
    impostor = type(other)(issuer.key.kid, other.algorithm, other.private)
    token = mint_token(impostor, "w-001", "city_admin", [PATH], audience=AUDIENCE)
    await refused(verifier, token, "the signature does not verify")


async def test_alg_none_is_refused(issuer: LocalIdentity, verifier: TokenVerifier) -> None:
    for alg in ("none", "None", "NONE"):
        token = hand_made({"alg": alg, "typ": "JWT", "kid": issuer.key.kid}, claims(), None)
        await refused(verifier, token, "signs with EdDSA only")


async def test_hs256_signed_with_the_public_key_is_refused(issuer: LocalIdentity,
                                                           verifier: TokenVerifier) -> None:
    """The classic confusion: the attacker HMACs with the public key, hoping the verifier uses
    the token's alg with the key it holds. The algorithm is the key's, never the token's."""
    public = issuer.key.private.public_key()
    secrets = [public.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo),
               public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
               issuer.jwks_path.read_bytes()]
    for secret in secrets:
        token = hand_made({"alg": "HS256", "typ": "JWT", "kid": issuer.key.kid}, claims(),
                          secret)
        await refused(verifier, token, "signs with EdDSA only")


async def test_an_rs256_header_on_the_ed25519_key_is_refused(issuer: LocalIdentity,
                                                             verifier: TokenVerifier) -> None:
    rsa_key = generate_key("x-", "RS256")
    impostor = type(rsa_key)(issuer.key.kid, "RS256", rsa_key.private)
    await refused(verifier, mint_token(impostor, "w", "city_admin", [PATH], audience=AUDIENCE),
                  "signs with EdDSA only")


async def test_a_token_without_a_kid_is_refused(issuer: LocalIdentity,
                                                verifier: TokenVerifier) -> None:
    import jwt

    token = jwt.encode(claims(), issuer.key.private, algorithm="EdDSA")
    await refused(verifier, token, "names no key")


async def test_an_unknown_kid_reads_the_jwks_again_then_rotation(tmp_path: Path,
                                                                 issuer: LocalIdentity) -> None:
    """A second key added to the JWKS file is taken at the first token naming it, without a
    restart; the old key's tokens stay good until the issuer withdraws it."""
    verifier = await loaded(issuer)
    old_token = mint(issuer)
    await verifier.verify(old_token)
    successor = generate_key("dev-")
    new_token = mint_token(successor, "w-002", "grid_worker", [PATH], audience=AUDIENCE)
    await refused(verifier, new_token, "does not publish")  # read again: not there yet
    issuer.publish([issuer.key, successor])
    verifier.keys.unknown_kid_interval_s = 0  # past the rate limit
    assert (await verifier.verify(new_token)).kid == successor.kid
    assert (await verifier.verify(old_token)).kid == issuer.key.kid
    issuer.publish([successor])  # the old key withdrawn
    await verifier.refresh()
    await refused(verifier, old_token, "does not publish")
    assert (await verifier.verify(new_token)).caller.subject == "w-002"


async def test_a_kid_published_again_with_another_key_refuses_the_old_tokens(
        issuer: LocalIdentity) -> None:
    """Tokens are cached with the keys they verified with: a JWKS read again verifies anew."""
    verifier = await loaded(issuer)
    token = mint(issuer)
    await verifier.verify(token)
    other = generate_key("dev-")
    issuer.publish([type(other)(issuer.key.kid, other.algorithm, other.private)])
    await verifier.refresh()
    await refused(verifier, token, "the signature does not verify")


async def test_unknown_kids_read_the_jwks_at_most_once_per_interval(
        issuer: LocalIdentity) -> None:
    verifier = await loaded(issuer)
    verifier.keys.unknown_kid_interval_s = 3600
    successor = generate_key("dev-")
    token = mint_token(successor, "w-002", "grid_worker", [PATH], audience=AUDIENCE)
    await refused(verifier, token, "does not publish")  # this one read the JWKS again
    issuer.publish([issuer.key, successor])
    await refused(verifier, token, "does not publish")  # within the interval: not read again
    await verifier.refresh()  # the periodic refresh
    assert (await verifier.verify(token)).kid == successor.kid


# ------------------------------------------------------------------ claims


async def test_a_token_for_another_audience_is_refused(issuer: LocalIdentity,
                                                       verifier: TokenVerifier) -> None:
    await refused(verifier, mint(issuer, audience="cdsp-aid"),
                  "not meant for this service \\(audience cdsp-registry\\)")
    await refused(verifier, mint(issuer, audience=["cdsp-aid", "cdsp-notification"]),
                  "not meant for this service")


async def test_a_token_living_too_long_is_refused(issuer: LocalIdentity,
                                                  verifier: TokenVerifier) -> None:
    await refused(verifier, mint(issuer, ttl_s=12 * 3600 + 1),
                  "lives longer than the 43200 s allowed")
    assert (await verifier.verify(mint(issuer, ttl_s=12 * 3600))).caller.subject == "w-001"
    strict = await loaded(issuer, max_lifetime_s=600)
    await refused(strict, mint(issuer, ttl_s=601), "lives longer than the 600 s allowed")


async def test_a_token_issued_in_the_future_is_refused(issuer: LocalIdentity,
                                                       verifier: TokenVerifier) -> None:
    now = int(time.time())
    await refused(verifier, mint(issuer, issued_at=now + 120), "issued in the future")
    assert (await verifier.verify(mint(issuer, issued_at=now + 10))).caller  # clock skew


async def test_expired_tokens(issuer: LocalIdentity, verifier: TokenVerifier) -> None:
    await refused(verifier, mint(issuer, ttl_s=-60), "^token expired$")
    assert (await verifier.verify(mint(issuer, ttl_s=-5))).caller  # within the 30 s leeway


async def test_the_issuer_must_be_ours(issuer: LocalIdentity, verifier: TokenVerifier) -> None:
    await refused(verifier, mint(issuer, extra={"iss": "https://elsewhere/"}),
                  "not issued by cdsp")


@pytest.mark.parametrize("claim", ["iss", "sub", "aud", "exp", "iat", "jti"])
async def test_required_claims(issuer: LocalIdentity, verifier: TokenVerifier,
                               claim: str) -> None:
    await refused(verifier, mint(issuer, extra={claim: None}), f"the {claim} claim is required")


@pytest.mark.parametrize(("claim", "value"), [
    ("jti", ""), ("jti", 7), ("jti", "j" * 257), ("sub", "w-\x00001"), ("sub", "s" * 257)])
async def test_ids_must_be_storable_text(issuer: LocalIdentity, verifier: TokenVerifier,
                                         claim: str, value: object) -> None:
    with pytest.raises(Unauthenticated, match=f"{claim}|JWT ID must be a string"):
        await verifier.verify(mint(issuer, extra={claim: value}))


async def test_unknown_roles_are_refused(issuer: LocalIdentity, verifier: TokenVerifier) -> None:
    for role in ("superuser", None, ["city_admin"]):
        await refused(verifier, mint(issuer, extra={"role": role}), "unknown role")


@pytest.mark.parametrize("jur", [
    [], "/3505/", ["3505/"], ["/3505"], ["/"], ["/35 05/"], ["/3505//"], [3505],
    ["/a/b/c/d/e/f/g/h/i/"], [PATH, "bad"], None,
    pytest.param(["/3505/\n"], id="trailing-newline"),
])
async def test_malformed_jurisdictions_are_refused(issuer: LocalIdentity,
                                                   verifier: TokenVerifier, jur: object) -> None:
    await refused(verifier, mint(issuer, extra={"jur": jur}), "jur must be a non-empty list")


@pytest.mark.parametrize(("claim", "value"), [
    ("cdsp_person", "p-1"), ("cdsp_person", 5), ("cdsp_wards", "x"), ("cdsp_wards", ["nope"]),
    ("cdsp_wards", [WARD] * 51)])
async def test_malformed_person_and_wards_are_refused(issuer: LocalIdentity,
                                                      verifier: TokenVerifier, claim: str,
                                                      value: object) -> None:
    await refused(verifier, mint(issuer, extra={claim: value}), claim)


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "e30.e30.e30"])
async def test_garbage_is_refused(verifier: TokenVerifier, token: str) -> None:
    with pytest.raises(Unauthenticated, match="invalid token"):
        await verifier.verify(token)


async def test_a_tampered_payload_is_refused(issuer: LocalIdentity,
                                             verifier: TokenVerifier) -> None:
    from tests.token_issuers import b64

    header, _, signature = mint(issuer).split(".")
    forged = b64(__import__("json").dumps(claims(role="city_admin", jur=["/3505/"])).encode())
    await refused(verifier, f"{header}.{forged}.{signature}", "signature does not verify")


# ------------------------------------------------------------------ revocation


async def test_a_token_revoked_by_its_id_is_refused_at_the_next_refresh(
        issuer: LocalIdentity, verifier: TokenVerifier) -> None:
    token, other = mint(issuer), mint(issuer)
    verified = await verifier.verify(token)
    issuer.revoke(token_id=verified.caller.token_id, expires_at=verified.expires_at)
    assert (await verifier.verify(token)) is verified  # the list held until the refresh
    await verifier.refresh()
    await refused(verifier, token, "^token revoked$")
    assert (await verifier.verify(other)).caller.subject == "w-001"


async def test_a_revoked_subject_loses_the_tokens_issued_until_then(
        issuer: LocalIdentity, verifier: TokenVerifier) -> None:
    now = int(time.time())
    before = mint(issuer, subject="lost-phone", issued_at=now - 60)
    same_second = mint(issuer, subject="lost-phone", issued_at=now)
    someone_else = mint(issuer, subject="w-002", issued_at=now - 60)
    issuer.revoke(subject="lost-phone")
    await verifier.refresh()
    for token in (before, same_second):
        await refused(verifier, token, "every token of its subject")
    after = mint(issuer, subject="lost-phone", issued_at=now + 2)  # signed in again later
    assert (await verifier.verify(after)).caller.subject == "lost-phone"
    assert (await verifier.verify(someone_else)).caller.subject == "w-002"


async def test_a_resident_names_their_person_and_a_guardian_their_wards(
        issuer: LocalIdentity, verifier: TokenVerifier) -> None:
    """A resident sees their own record and a guardian their wards' (runtime.roles): a token
    that names neither would be a resident of nobody, so it is refused."""
    resident = (await verifier.verify(mint(issuer, role="resident", person_id=PERSON))).caller
    assert (resident.person_id, resident.wards) == (PERSON, ())
    await refused(verifier, mint(issuer, role="resident"), "names their person \\(cdsp_person\\)")
    await refused(verifier, mint(issuer, role="guardian"), "names their wards \\(cdsp_wards\\)")
    await refused(verifier, mint(issuer, role="guardian", extra={"cdsp_wards": PERSON}),
                  "cdsp_wards must be a list")
