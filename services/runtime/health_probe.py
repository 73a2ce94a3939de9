"""A gRPC health probe for places without Kubernetes' native one (docker-compose healthchecks,
an operator's shell in a pod):

    python -m runtime.health_probe                       # this container's service, readiness
    python -m runtime.health_probe --service cdsp.liveness
    python -m runtime.health_probe --addr registry:50051

Asks grpc.health.v1.Health/Check. Exit status: 0 SERVING, 1 anything else (NOT_SERVING, no answer
within the timeout, unknown service name), 2 bad usage. The address defaults to the plaintext
health-only port CDSP_GRPC_HEALTH_ADDR when the server has one, else CDSP_GRPC_ADDR, with a
wildcard host replaced by the loopback address. The gRPC port is asked over TLS when
CDSP_GRPC_TLS_CA is set (runtime.grpc_tls: with mutual TLS the probe presents
CDSP_GRPC_TLS_CERT/_KEY; CDSP_GRPC_TLS_SERVER_NAME when 127.0.0.1 is not in the certificate).
"""

from __future__ import annotations

import argparse
import os
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from runtime.grpc_client import plain_or_tls_channel
from runtime.grpc_tls import ClientTls, client_tls
from runtime.settings import SettingsError

EXIT_SERVING, EXIT_NOT_SERVING, EXIT_USAGE = 0, 1, 2


def local_address(bind: str) -> str:
    """Where to reach a server bound to `bind` from the same host."""
    host, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"not a host:port address: {bind!r}")
    if host in ("", "0.0.0.0", "[::]", "::"):
        host = "127.0.0.1"
    return f"{host}:{port}"


def check(addr: str, service: str, timeout_s: float, tls: ClientTls | None = None) -> str:
    """The status name the server gives `service`, or why there is none (over TLS with `tls`)."""
    channel = (plain_or_tls_channel(addr, tls) if tls is not None
               else grpc.insecure_channel(addr))
    with channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout_s)
        except grpc.RpcError as exc:
            code = exc.code() if isinstance(exc, grpc.Call) else None
            return f"no answer ({code.name if code else type(exc).__name__})"
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runtime.health_probe", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--addr", help="host:port (default: from CDSP_GRPC_ADDR)")
    parser.add_argument("--service", default="", help='health service name (default "": '
                        "the whole server, which follows its database)")
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds (default 2)")
    args = parser.parse_args(argv)
    health_port = os.environ.get("CDSP_GRPC_HEALTH_ADDR", "")
    plaintext = not args.addr and bool(health_port)
    try:
        addr = local_address(args.addr or health_port or os.environ.get("CDSP_GRPC_ADDR", ""))
        tls = None if plaintext else client_tls()
    except (ValueError, SettingsError) as exc:
        print(f"health_probe: --addr, CDSP_GRPC_ADDR or TLS settings: {exc}", file=sys.stderr)
        return EXIT_USAGE
    status = check(addr, args.service, args.timeout, tls)
    if status == "SERVING":
        return EXIT_SERVING
    print(f"health_probe: {addr} service {args.service!r}: {status}", file=sys.stderr)
    return EXIT_NOT_SERVING


if __name__ == "__main__":
    sys.exit(main())
