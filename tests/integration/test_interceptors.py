"""The runtime's interceptors on a real grpc.aio server: a method nobody implemented answers
UNIMPLEMENTED (not INTERNAL), after the token is checked; an audited call whose record cannot be
written fails instead of answering."""

from __future__ import annotations

import uuid

import grpc
import pytest

import devstack
from cdsp.registry.v1 import registry_pb2 as pb
from cdsp.registry.v1 import registry_pb2_grpc
from runtime.audit import Auditor
from runtime.db import Database
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


class _OnePerson(registry_pb2_grpc.RegistryServiceServicer):
    async def GetPerson(self, request: pb.GetPersonRequest, context: object) -> pb.Person:
        return pb.Person(person_id=request.person_id, name="不应离开")


async def test_no_personal_data_leaves_when_its_audit_record_cannot_be_written(
        stack: devstack.Stack, registry: str) -> None:
    """The audit database is unavailable (its pool closed): the audited call fails UNAVAILABLE
    and its answer never leaves; a call that is not audited still answers."""
    db = Database(stack.database_url("registry"), "registry", 1, 1)  # never opened: no database
    server = grpc.aio.server(interceptors=[CallInterceptor(Auditor(db)),
                                           AuthInterceptor(await loaded(session_identity()))])
    registry_pb2_grpc.add_RegistryServiceServicer_to_server(_OnePerson(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            api = registry_pb2_grpc.RegistryServiceStub(channel)
            auth = (("authorization", f"Bearer {token()}"),)
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await api.GetPerson(pb.GetPersonRequest(person_id=str(uuid.uuid4())),
                                    metadata=auth)
            assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
            assert "audit log" in (raised.value.details() or "")
            with pytest.raises(grpc.aio.AioRpcError) as unaudited:   # not personal: no record
                await api.GetStatistics(pb.GetStatisticsRequest(), metadata=auth)
            assert unaudited.value.code() == grpc.StatusCode.UNIMPLEMENTED
    finally:
        await server.stop(0)
