"""gRPC over TLS where the deployment gives a certificate, and what a server exposes besides its
services. Read from the environment when a server starts or a client connects:

  Server
    CDSP_GRPC_TLS_CERT / _KEY  the server's certificate chain and private key (PEM files; both or
                               neither). With them the gRPC port speaks TLS only: a plaintext
                               client is refused. A renewed pair on disk (cert-manager rewrites
                               the mounted Secret) is picked up by the next handshake.
    CDSP_GRPC_TLS_CLIENT_CA    a CA bundle (PEM): mutual TLS, clients must present a certificate
                               it signed (needs CDSP_GRPC_TLS_CERT/_KEY)
    CDSP_GRPC_HEALTH_ADDR      host:port of a second, plaintext port that serves grpc.health.v1
                               only (no service, no reflection): Kubernetes' native gRPC probes
                               cannot speak TLS. Empty (default): none
    CDSP_GRPC_REFLECTION       true | false: the reflection service (lists every service and
                               method). Default: true in development, false in production
  Client (runtime.grpc_client, runtime.health_probe)
    CDSP_GRPC_TLS_CA           the CA bundle that signed the servers' certificates: with it,
                               clients connect over TLS and verify the server
    CDSP_GRPC_TLS_SERVER_NAME  the name to expect in the server's certificate when the address
                               dialled is not in it (127.0.0.1 inside a pod)
    With mutual TLS a client presents CDSP_GRPC_TLS_CERT/_KEY (a certificate for client auth).

A wrong combination (a key without its certificate, a file that cannot be read) stops the start
with a message naming the variable (runtime.settings.SettingsError).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import grpc

from runtime.settings import SettingsError, env_flag


def _read(env: Mapping[str, str], name: str) -> bytes | None:
    path = env.get(name, "").strip()
    if not path:
        return None
    try:
        data = Path(path).read_bytes()
    except OSError:
        raise SettingsError(f"{name} {path!r} is not a readable file") from None
    if b"-----BEGIN " not in data:
        raise SettingsError(f"{name} {path!r} is not a PEM file")
    return data


@dataclass(frozen=True)
class ServerTls:
    cert_file: str
    key_file: str
    client_ca_file: str   # "" without mutual TLS

    def _pair(self) -> tuple[bytes, bytes, bytes | None]:
        ca = Path(self.client_ca_file).read_bytes() if self.client_ca_file else None
        return Path(self.key_file).read_bytes(), Path(self.cert_file).read_bytes(), ca

    def _stamp(self) -> tuple[float, ...]:
        files = [f for f in (self.cert_file, self.key_file, self.client_ca_file) if f]
        return tuple(os.stat(f).st_mtime_ns for f in files)

    def credentials(self) -> grpc.ServerCredentials:
        """Credentials that pick up a renewed certificate at the next handshake (the files are
        looked at per handshake, read again only when they changed)."""
        key, cert, ca = self._pair()
        config = grpc.ssl_server_certificate_configuration([(key, cert)], root_certificates=ca)
        seen = [self._stamp()]

        def fetch() -> grpc.ServerCertificateConfiguration | None:
            try:
                stamp = self._stamp()
                if stamp == seen[0]:
                    return None
                key, cert, ca = self._pair()
            except OSError:  # mid-rewrite: keep the current pair, look again next time
                return None
            seen[0] = stamp
            return grpc.ssl_server_certificate_configuration([(key, cert)],
                                                             root_certificates=ca)

        return grpc.dynamic_ssl_server_credentials(config, fetch,
                                                   require_client_authentication=ca is not None)


@dataclass(frozen=True)
class ServerOptions:
    tls: ServerTls | None
    health_addr: str
    reflection: bool


def server_options(env: Mapping[str, str], production: bool) -> ServerOptions:
    cert, key = env.get("CDSP_GRPC_TLS_CERT", "").strip(), env.get("CDSP_GRPC_TLS_KEY", "").strip()
    client_ca = env.get("CDSP_GRPC_TLS_CLIENT_CA", "").strip()
    if bool(cert) != bool(key):
        raise SettingsError("CDSP_GRPC_TLS_CERT and CDSP_GRPC_TLS_KEY go together: set both "
                            "(TLS) or neither (plaintext)")
    if client_ca and not cert:
        raise SettingsError("CDSP_GRPC_TLS_CLIENT_CA (mutual TLS) needs CDSP_GRPC_TLS_CERT and "
                            "CDSP_GRPC_TLS_KEY")
    for name in ("CDSP_GRPC_TLS_CERT", "CDSP_GRPC_TLS_KEY", "CDSP_GRPC_TLS_CLIENT_CA"):
        _read(env, name)
    tls = ServerTls(cert, key, client_ca) if cert else None
    return ServerOptions(tls, env.get("CDSP_GRPC_HEALTH_ADDR", "").strip(),
                         env_flag(env, "CDSP_GRPC_REFLECTION", not production))


def add_port(server: grpc.aio.Server, addr: str, tls: ServerTls | None) -> None:
    if tls is None:
        server.add_insecure_port(addr)
    else:
        server.add_secure_port(addr, tls.credentials())


@dataclass(frozen=True)
class ClientTls:
    root_ca: bytes
    cert_chain: bytes | None = None
    private_key: bytes | None = None
    server_name: str = ""

    def credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(self.root_ca, self.private_key, self.cert_chain)

    def options(self) -> list[tuple[str, str]]:
        return [("grpc.ssl_target_name_override", self.server_name)] if self.server_name else []


def client_tls(env: Mapping[str, str] | None = None) -> ClientTls | None:
    """How this process's clients connect: TLS when CDSP_GRPC_TLS_CA is given (presenting
    CDSP_GRPC_TLS_CERT/_KEY when they are set, for mutual TLS), else plaintext (None)."""
    env = os.environ if env is None else env
    ca = _read(env, "CDSP_GRPC_TLS_CA")
    if ca is None:
        return None
    cert, key = _read(env, "CDSP_GRPC_TLS_CERT"), _read(env, "CDSP_GRPC_TLS_KEY")
    return ClientTls(ca, cert, key, env.get("CDSP_GRPC_TLS_SERVER_NAME", "").strip())
