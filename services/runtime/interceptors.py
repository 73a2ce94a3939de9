"""Server interceptors: one for every call (request id, metrics, errors), one for the caller and
the request's text.

The error mapping turns runtime.errors exceptions into their status codes, with a
google.rpc.BadRequest detail for INVALID_ARGUMENT; anything unexpected is INTERNAL with the request
id (the cause is logged, with personal data masked, never sent to the caller).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import grpc
import psycopg
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2

from runtime import roles
from runtime.auth import current_caller_or_none, set_current_caller
from runtime.errors import InvalidArgument, ServiceError, Unauthenticated
from runtime.metrics import GRPC_LATENCY, GRPC_REQUESTS
from runtime.request_text import Deserializer, decoding, raise_if_refused
from runtime.tokens import TokenVerifier, Verified

if TYPE_CHECKING:  # runtime.audit writes through runtime.db, which imports this module
    from runtime.audit import Auditor

log = logging.getLogger("cdsp.grpc")
request_id: ContextVar[str] = ContextVar("cdsp_request_id", default="")

UNAUTHENTICATED_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")
BREAK_GLASS_HEADER = "x-cdsp-break-glass"
Behavior = Callable[..., Any]


def _wrap(handler: grpc.RpcMethodHandler, around: Callable[[Behavior, bool], Behavior],
          decode: Callable[[Deserializer], Deserializer] | None = None
          ) -> grpc.RpcMethodHandler:
    """Returns the handler with its behaviour wrapped, whatever its streaming kind, and the
    deserializer of a request that is one message wrapped by `decode`."""
    kinds = (("unary_unary", grpc.unary_unary_rpc_method_handler, False),
             ("unary_stream", grpc.unary_stream_rpc_method_handler, True),
             ("stream_unary", grpc.stream_unary_rpc_method_handler, False),
             ("stream_stream", grpc.stream_stream_rpc_method_handler, True))
    for attr, factory, streams in kinds:
        behavior = getattr(handler, attr)
        if behavior is not None:
            deserializer = handler.request_deserializer
            if decode is not None and deserializer is not None and not handler.request_streaming:
                deserializer = decode(deserializer)
            return factory(around(behavior, streams),  # type: ignore[operator]
                           request_deserializer=deserializer,
                           response_serializer=handler.response_serializer)
    return handler


def _metadata(context: grpc.aio.ServicerContext, key: str) -> str:
    for k, v in context.invocation_metadata() or ():
        if k == key:
            return v if isinstance(v, str) else v.decode()
    return ""


def _details(exc: ServiceError) -> tuple[tuple[str, bytes], ...]:
    """The google.rpc.Status detail of an INVALID_ARGUMENT: a BadRequest naming each field."""
    if not isinstance(exc, InvalidArgument):
        return ()
    detail = any_pb2.Any()
    detail.Pack(error_details_pb2.BadRequest(field_violations=[
        error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
        for v in exc.violations]))
    status = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=exc.message,
                               details=[detail])
    return (("grpc-status-details-bin", status.SerializeToString()),)


class CallInterceptor(grpc.aio.ServerInterceptor):
    """Request id, per-method count and latency, the mapping of errors to status codes, and the
    audit record of every call that reads or changes personal data (runtime.audit), written
    before the response (or the error) leaves."""

    def __init__(self, auditor: Auditor | None = None) -> None:
        self.auditor = auditor

    async def intercept_service(self, continuation: Callable[[grpc.HandlerCallDetails],
                                                             Awaitable[grpc.RpcMethodHandler]],
                                details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return handler
        method: str = details.method  # type: ignore[attr-defined]
        rule = roles.rule_for(method)
        auditor = self.auditor if rule is not None and rule.personal else None

        def around(behavior: Behavior, streams: bool) -> Behavior:
            async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
                async with _Observed(method, context, auditor, request) as observed:
                    observed.response = await behavior(request, context)
                    return observed.response

            async def streaming(request: Any, context: grpc.aio.ServicerContext) -> Any:
                async with _Observed(method, context, auditor, request) as observed:
                    async for item in behavior(request, context):
                        observed.streamed += 1
                        yield item

            return streaming if streams else unary

        return _wrap(handler, around)


class _Observed:
    """The body of CallInterceptor: times the call, records it in the audit log when it is an
    audited method, and maps whatever it raises to its status."""

    def __init__(self, method: str, context: grpc.aio.ServicerContext, auditor: Auditor | None,
                 request: Any) -> None:
        self.method = method
        self.context = context
        self.auditor = auditor
        self.request = request if isinstance(request, Message) else None
        self.response: Any = None
        self.streamed = 0

    async def __aenter__(self) -> _Observed:
        self.started = time.perf_counter()
        rid = _metadata(self.context, "x-request-id") or uuid.uuid4().hex
        self.token = request_id.set(rid[:64])
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: object) -> bool:
        code, message, aborted = grpc.StatusCode.OK, "", False
        trailing: tuple[tuple[str, bytes], ...] = ()
        if exc is not None:
            code, message, trailing, aborted = self._failure(exc)
        try:
            if self.auditor is not None and not await self._recorded(code):
                # No personal data leaves unrecorded: the call fails instead.
                code, message, trailing, aborted = (
                    grpc.StatusCode.UNAVAILABLE, "the audit log cannot be written; retry later",
                    (), False)
            elif exc is None:
                return False
            if not aborted:
                await self.context.abort(code, message, trailing_metadata=trailing)
            return False
        finally:
            GRPC_REQUESTS.labels(self.method, code.name).inc()
            GRPC_LATENCY.labels(self.method).observe(time.perf_counter() - self.started)
            request_id.reset(self.token)

    async def _recorded(self, code: grpc.StatusCode) -> bool:
        assert self.auditor is not None
        response = self.response if isinstance(self.response, Message) else None
        try:
            # Shielded: a stream the client cancelled is still recorded.
            await asyncio.shield(self.auditor.record(
                self.method, current_caller_or_none(), request_id.get(), code.name,
                self.request, response, self.streamed if self.streamed else None))
        except Exception as exc:
            log.error("audit record not written (%s); the call fails", type(exc).__name__,
                      extra={"request_id": request_id.get(), "method": self.method})
            return False
        return True

    def _failure(self, exc: BaseException
                 ) -> tuple[grpc.StatusCode, str, tuple[tuple[str, bytes], ...], bool]:
        """(code, message, trailing metadata, already aborted) for what the handler raised."""
        if isinstance(exc, ServiceError):
            return exc.code, exc.message, _details(exc), False
        if isinstance(exc, psycopg.OperationalError):
            log.warning("database unavailable: %s", type(exc).__name__,
                        extra={"request_id": request_id.get(), "method": self.method})
            return grpc.StatusCode.UNAVAILABLE, "database unavailable; retry later", (), False
        if isinstance(exc, NotImplementedError):  # a generated base method nobody wrote
            return grpc.StatusCode.UNIMPLEMENTED, f"{self.method} is not implemented", (), False
        if type(exc).__name__ == "AbortError":  # the handler aborted the call itself
            return self.context.code() or grpc.StatusCode.UNKNOWN, "", (), True
        if not isinstance(exc, Exception):  # cancelled (the client left a stream): not ours
            return grpc.StatusCode.CANCELLED, "", (), True
        log.error("unhandled error", exc_info=exc,
                  extra={"request_id": request_id.get(), "method": self.method})
        return (grpc.StatusCode.INTERNAL, f"internal error (request {request_id.get()})", (),
                False)


class AuthInterceptor(grpc.aio.ServerInterceptor):
    """The gate of every service's own calls (health and reflection pass untouched): verifies the
    bearer token (runtime.tokens) and makes the caller available to the handler, then refuses a
    request holding text PostgreSQL could not store (runtime.request_text), before the handler
    runs. The token comes first: a caller without one learns nothing about what its request
    holds. A server-streaming call ends with UNAUTHENTICATED when its token expires or is
    revoked while it runs (every streaming method, whatever the service)."""

    def __init__(self, verifier: TokenVerifier) -> None:
        self.verifier = verifier

    async def intercept_service(self, continuation: Callable[[grpc.HandlerCallDetails],
                                                             Awaitable[grpc.RpcMethodHandler]],
                                details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        method: str = details.method  # type: ignore[attr-defined]
        if handler is None or method.startswith(UNAUTHENTICATED_PREFIXES):
            return handler

        def around(behavior: Behavior, streams: bool) -> Behavior:
            async def admit(request: Any, context: grpc.aio.ServicerContext) -> Verified:
                header = _metadata(context, "authorization")
                if not header.lower().startswith("bearer "):
                    raise Unauthenticated("missing bearer token in the authorization metadata")
                verified = await self.verifier.verify(header[7:].strip())
                caller = verified.caller
                set_current_caller(caller)
                # Metadata is ASCII: the reason travels percent-encoded (UTF-8).
                reason = unquote(_metadata(context, BREAK_GLASS_HEADER)).strip()
                if reason:  # a city admin reads outside their jurisdictions, saying why
                    caller = roles.break_glass(caller, reason, BREAK_GLASS_HEADER)
                    set_current_caller(caller)
                roles.require(caller, method)  # the role matrix: deny by default
                raise_if_refused(request)  # what `decoding` found (a streaming request: nothing)
                return verified

            async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
                await admit(request, context)
                return await behavior(request, context)

            async def streaming(request: Any, context: grpc.aio.ServicerContext) -> Any:
                verified = await admit(request, context)
                async with self.verifier.watch(verified) as ended:
                    async for item in until_ended(behavior(request, context), ended):
                        yield item

            return streaming if streams else unary

        return _wrap(handler, around, decoding)


async def until_ended(items: AsyncIterator[Any], ended: asyncio.Future[str]
                      ) -> AsyncIterator[Any]:
    """The items of a streaming handler until `ended` gets a reason: then the handler is
    cancelled where it waits (its cleanup runs) and the call ends UNAUTHENTICATED with it."""
    iterator = aiter(items)
    step: asyncio.Future[Any] | None = None
    try:
        while not ended.done():
            step = asyncio.ensure_future(anext(iterator))
            await asyncio.wait((step, ended), return_when=asyncio.FIRST_COMPLETED)
            if not step.done():
                break
            try:
                item = step.result()
            except StopAsyncIteration:
                return
            yield item
        raise Unauthenticated(ended.result())
    finally:  # also when the call itself is cancelled (the client went away)
        if step is not None and not step.done():
            step.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await step
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()
