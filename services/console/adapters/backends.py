"""The five services over gRPC, called with the signed-in worker's own token: the services'
role and jurisdiction rules decide what the worker may see and do, exactly as for any client.

A failed call becomes one of the exceptions below, which the pages turn into what the worker
sees: field errors beside their fields, a message at the top of the form, or an error page."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
from prometheus_client import Histogram

from cdsp.aid.v1 import aid_pb2_grpc
from cdsp.employment.v1 import employment_pb2_grpc
from cdsp.notification.v1 import notification_pb2_grpc
from cdsp.registry.v1 import registry_pb2_grpc
from cdsp.volunteer.v1 import volunteer_pb2_grpc
from runtime.grpc_client import CHANNEL_OPTIONS, bad_request_fields
from runtime.grpc_tls import client_tls

CALL_SECONDS = Histogram("cdsp_console_backend_call_seconds",
                         "Time of the console's gRPC calls to the services",
                         ["service", "method", "code"],
                         buckets=(.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5))

STUBS = {"registry": registry_pb2_grpc.RegistryServiceStub,
         "aid": aid_pb2_grpc.AidServiceStub,
         "employment": employment_pb2_grpc.EmploymentServiceStub,
         "volunteer": volunteer_pb2_grpc.VolunteerServiceStub,
         "notification": notification_pb2_grpc.NotificationServiceStub}


class CallFailed(Exception):
    """A service refused or failed a call: `code` says how, `message` is its own words (never
    shown raw for codes the pages explain themselves)."""

    def __init__(self, service: str, code: grpc.StatusCode, message: str,
                 fields: dict[str, str] | None = None) -> None:
        super().__init__(f"{service}: {code.name}")
        self.service, self.code, self.message = service, code, message
        self.fields = fields or {}

    @property
    def unavailable(self) -> bool:
        return self.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                             grpc.StatusCode.RESOURCE_EXHAUSTED)


class SessionEnded(Exception):
    """The worker's token is no longer good (expired or revoked): sign in again."""


class Backends:
    def __init__(self, addrs: dict[str, str], timeout_s: float) -> None:
        self.addrs, self.timeout_s = addrs, timeout_s
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._stubs: dict[str, Any] = {}

    async def start(self) -> None:
        tls = client_tls()
        for name, addr in self.addrs.items():
            if tls is None:
                channel = grpc.aio.insecure_channel(addr, options=CHANNEL_OPTIONS)
            else:
                channel = grpc.aio.secure_channel(addr, tls.credentials(),
                                                  options=CHANNEL_OPTIONS + tls.options())
            self._channels[name] = channel
            self._stubs[name] = STUBS[name](channel)

    async def stop(self) -> None:
        for channel in self._channels.values():
            await channel.close()

    async def call(self, token: str, service: str, method: str, request: Any,
                   timeout_s: float | None = None) -> Any:
        rpc = getattr(self._stubs[service], method)
        started, code = time.perf_counter(), "OK"
        try:
            return await rpc(request, timeout=timeout_s or self.timeout_s,
                             metadata=(("authorization", f"Bearer {token}"),))
        except grpc.aio.AioRpcError as error:
            code = error.code().name
            raise _failure(service, error) from None
        finally:
            CALL_SECONDS.labels(service, method, code).observe(time.perf_counter() - started)

    async def stream(self, token: str, service: str, method: str,
                     request: Any) -> AsyncIterator[Any]:
        """A server-streaming call without a deadline (the inbox): ends when the service ends
        it or the caller stops iterating."""
        call = getattr(self._stubs[service], method)(
            request, metadata=(("authorization", f"Bearer {token}"),))
        try:
            async for item in call:
                yield item
        except grpc.aio.AioRpcError as error:
            raise _failure(service, error) from None
        finally:
            call.cancel()


def _failure(service: str, error: grpc.aio.AioRpcError) -> Exception:
    if error.code() == grpc.StatusCode.UNAUTHENTICATED:
        return SessionEnded()
    fields = bad_request_fields(error) if error.code() == grpc.StatusCode.INVALID_ARGUMENT \
        else {}
    return CallFailed(service, error.code(), error.details() or "", fields)
