"""gRPC transport settings (runtime.grpc_tls): TLS from certificate files, mutual TLS, the
plaintext health-only port and reflection, and what cannot work refused with the variable named."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.grpc_tls import client_tls, server_options
from runtime.settings import SettingsError
from tests.tls_helpers import Pki, make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def test_plaintext_by_default_reflection_on_in_development_only() -> None:
    dev, prod = server_options({}, production=False), server_options({}, production=True)
    assert (dev.tls, dev.health_addr, dev.reflection) == (None, "", True)
    assert prod.reflection is False
    assert server_options({"CDSP_GRPC_REFLECTION": "true"}, production=True).reflection
    assert not server_options({"CDSP_GRPC_REFLECTION": "FALSE"}, production=False).reflection
    assert server_options({"CDSP_GRPC_HEALTH_ADDR": " 0.0.0.0:8086 "},
                          production=True).health_addr == "0.0.0.0:8086"


def test_tls_and_mutual_tls_from_files(pki: Pki) -> None:
    env = {"CDSP_GRPC_TLS_CERT": str(pki.server.cert), "CDSP_GRPC_TLS_KEY": str(pki.server.key)}
    tls = server_options(env, production=True).tls
    assert tls is not None and tls.client_ca_file == ""
    assert tls.credentials() is not None
    mutual = server_options({**env, "CDSP_GRPC_TLS_CLIENT_CA": str(pki.ca)}, True).tls
    assert mutual is not None and mutual.client_ca_file == str(pki.ca)


@pytest.mark.parametrize(("env", "message"), [
    ({"CDSP_GRPC_TLS_CERT": "server.crt"}, "go together"),
    ({"CDSP_GRPC_TLS_KEY": "server.key"}, "go together"),
    ({"CDSP_GRPC_TLS_CLIENT_CA": "ca.crt"}, "needs CDSP_GRPC_TLS_CERT"),
    ({"CDSP_GRPC_TLS_CERT": "/nonexistent.crt", "CDSP_GRPC_TLS_KEY": "/nonexistent.key"},
     "CDSP_GRPC_TLS_CERT '/nonexistent.crt' is not a readable file"),
    ({"CDSP_GRPC_REFLECTION": "off"}, "CDSP_GRPC_REFLECTION must be true or false"),
])
def test_what_cannot_work_is_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        server_options(env, production=False)


def test_a_file_that_is_not_pem_is_refused(pki: Pki, tmp_path: Path) -> None:
    junk = tmp_path / "junk.crt"
    junk.write_text("not a certificate")
    with pytest.raises(SettingsError, match="not a PEM file"):
        server_options({"CDSP_GRPC_TLS_CERT": str(junk),
                        "CDSP_GRPC_TLS_KEY": str(pki.server.key)}, production=False)


def test_clients_use_tls_when_given_a_ca(pki: Pki) -> None:
    assert client_tls({}) is None
    tls = client_tls({"CDSP_GRPC_TLS_CA": str(pki.ca)})
    assert tls is not None and tls.cert_chain is None and tls.options() == []
    mutual = client_tls({"CDSP_GRPC_TLS_CA": str(pki.ca),
                         "CDSP_GRPC_TLS_CERT": str(pki.client.cert),
                         "CDSP_GRPC_TLS_KEY": str(pki.client.key),
                         "CDSP_GRPC_TLS_SERVER_NAME": "registry.cdsp.svc"})
    assert mutual is not None and mutual.cert_chain == pki.client.cert.read_bytes()
    assert mutual.options() == [("grpc.ssl_target_name_override", "registry.cdsp.svc")]
