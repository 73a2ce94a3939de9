"""`python -m runtime.token_cli` (make token): a token of the local issuer's key, accepted by the
services that trust its JWKS; and the key file it reads."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from runtime import token_cli
from runtime.auth import Caller
from runtime.errors import Unauthenticated
from runtime.token_signing import generate_key, load_key, save_key
from tests.token_issuers import loaded, new_issuer

PERSON = "5f0c6c1e-2a43-4b8e-9d7a-0f6a7c1d2e3f"


async def test_the_cli_mints_a_token_the_services_accept(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    issuer = new_issuer(tmp_path / "identity")
    monkeypatch.setenv("CDSP_TOKEN_SIGNING_KEY", str(issuer.key_path))
    token_cli.main(["--role", "resident", "--scope", "/3505/350502/350502001/",
                    "--subject", "r-7", "--ttl", "600", "--person", PERSON])
    verified = await (await loaded(issuer)).verify(capsys.readouterr().out.strip())
    assert verified.caller == Caller("r-7", "resident", ("/3505/350502/350502001/",),
                                     issuer="cdsp", token_id=verified.caller.token_id,
                                     person_id=PERSON)
    assert verified.expires_at - verified.issued_at == 600
    token_cli.main(["--role", "grid_worker", "--scope", "/3505/", "--audience", "cdsp-aid",
                    "--key", str(issuer.key_path)])
    with pytest.raises(Unauthenticated, match="not meant for this service"):
        await (await loaded(issuer)).verify(capsys.readouterr().out.strip())


def test_the_cli_refuses_what_no_service_would_take(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    issuer = new_issuer(tmp_path / "identity")
    with pytest.raises(SystemExit):
        token_cli.main(["--role", "mayor", "--scope", "/3505/", "--key", str(issuer.key_path)])
    with pytest.raises(SystemExit, match="jurisdiction"):
        token_cli.main(["--scope", "/3505", "--key", str(issuer.key_path)])
    with pytest.raises(SystemExit, match="no signing key"):
        token_cli.main(["--scope", "/3505/", "--key", str(tmp_path / "none.json")])


@pytest.mark.parametrize("algorithm", ["EdDSA", "RS256"])
def test_a_signing_key_is_saved_for_its_owner_only(tmp_path: Path, algorithm: str) -> None:
    key = generate_key("dev-", algorithm)
    path = tmp_path / "key.json"
    save_key(key, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_key(path)
    assert (again.kid, again.algorithm) == (key.kid, algorithm) and key.kid.startswith("dev-")
    assert again.public_jwk() == key.public_jwk() and "d" not in key.public_jwk()
    path.write_text(again.public_jwk().__repr__().replace("'", '"'))
    with pytest.raises(ValueError, match="public key"):
        load_key(path)
