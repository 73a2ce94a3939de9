"""Calling a CDSP service: channels that attach the caller's bearer token to every call.

Used by services calling each other (with a `service` token) and by the demo, tests and benches.
Over TLS when the process is given the CA of the servers' certificates (CDSP_GRPC_TLS_CA, and
for mutual TLS its own certificate: runtime.grpc_tls), or when `tls` is passed; else plaintext.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2

from runtime.grpc_tls import ClientTls, client_tls

# Calls of a few kilobytes; allow large list pages.
CHANNEL_OPTIONS = [("grpc.max_receive_message_length", 16 * 1024 * 1024)]


class _Bearer:
    def __init__(self, token: Callable[[], str]) -> None:
        self.token = token

    def _details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        metadata = [*(details.metadata or ()), ("authorization", f"Bearer {self.token()}")]
        return grpc.aio.ClientCallDetails(details.method, details.timeout,
                                          grpc.aio.Metadata(*metadata), details.credentials,
                                          details.wait_for_ready)


# grpc.aio files an interceptor under the first call kind it implements only, so one object
# cannot serve two kinds: one class per kind (else server-streaming calls go without a token).
class _UnaryBearer(_Bearer, grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._details(details), request)


class _StreamBearer(_Bearer, grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._details(details), request)


def aio_channel(addr: str, token: str | Callable[[], str],
                tls: ClientTls | None = None) -> grpc.aio.Channel:
    provider = token if callable(token) else (lambda: token)
    interceptors = [_UnaryBearer(provider), _StreamBearer(provider)]
    tls = tls or client_tls()
    if tls is None:
        return grpc.aio.insecure_channel(addr, options=CHANNEL_OPTIONS,
                                         interceptors=interceptors)
    return grpc.aio.secure_channel(addr, tls.credentials(),
                                   options=CHANNEL_OPTIONS + tls.options(),
                                   interceptors=interceptors)


def plain_or_tls_channel(addr: str, tls: ClientTls | None = None) -> grpc.Channel:
    """A blocking channel without a token: TLS as the process is configured (or as `tls` says)."""
    tls = tls or client_tls()
    if tls is None:
        return grpc.insecure_channel(addr, options=CHANNEL_OPTIONS)
    return grpc.secure_channel(addr, tls.credentials(), options=CHANNEL_OPTIONS + tls.options())


def sync_channel(addr: str, token: str, tls: ClientTls | None = None) -> grpc.Channel:
    """A blocking channel (for scripts and tests) that sends the token with every call."""

    class Bearer(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
        def _details(self, details: Any) -> Any:
            metadata = [*(details.metadata or ()), ("authorization", f"Bearer {token}")]
            return _SyncDetails(details.method, details.timeout, metadata, details.credentials,
                                details.wait_for_ready, details.compression)

        def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
            return continuation(self._details(details), request)

        def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
            return continuation(self._details(details), request)

    return grpc.intercept_channel(plain_or_tls_channel(addr, tls), Bearer())


class _SyncDetails(grpc.ClientCallDetails):
    def __init__(self, method: str, timeout: float | None, metadata: Any, credentials: Any,
                 wait_for_ready: bool | None, compression: Any) -> None:
        self.method = method
        self.timeout = timeout
        self.metadata = metadata
        self.credentials = credentials
        self.wait_for_ready = wait_for_ready
        self.compression = compression


def bad_request_fields(error: grpc.RpcError) -> dict[str, str]:
    """The field violations of an INVALID_ARGUMENT error, as {field: description}."""
    for key, value in error.trailing_metadata() or ():  # type: ignore[attr-defined]
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                bad = error_details_pb2.BadRequest()
                if detail.Unpack(bad):
                    return {v.field: v.description for v in bad.field_violations}
    return {}
