"""The runtime's interceptors on a real grpc.aio server: a method nobody implemented answers
UNIMPLEMENTED (not INTERNAL), after the token is checked."""

from __future__ import annotations

import grpc
import pytest

from cdsp.registry.v1 import registry_pb2 as pb
from cdsp.registry.v1 import registry_pb2_grpc
from runtime.interceptors import AuthInterceptor, CallInterceptor
from tests.helpers import session_identity, token
from tests.token_issuers import loaded


async def test_a_method_nobody_implemented_answers_unimplemented() -> None:
    verifier = await loaded(session_identity())
    server = grpc.aio.server(interceptors=[CallInterceptor(), AuthInterceptor(verifier)])
    registry_pb2_grpc.add_RegistryServiceServicer_to_server(
        registry_pb2_grpc.RegistryServiceServicer(), server)  # the generated base: nothing done
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = registry_pb2_grpc.RegistryServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await stub.GetStatistics(pb.GetStatisticsRequest(),
                                         metadata=(("authorization", f"Bearer {token()}"),))
            assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED
            assert "GetStatistics" in (raised.value.details() or "")
            with pytest.raises(grpc.aio.AioRpcError) as anonymous:
                await stub.GetStatistics(pb.GetStatisticsRequest())
            assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        await server.stop(0)
