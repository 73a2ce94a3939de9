"""The request text check: every string of a request, wherever it sits, named by its path."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2, struct_pb2

from cdsp.registry.v1 import registry_pb2 as pb
from runtime.errors import FieldViolation, InvalidArgument
from runtime.interceptors import AuthInterceptor
from runtime.request_text import (
    KEY_NUL_RULE,
    NUL_RULE,
    UTF8_RULE,
    Refused,
    decoding,
    raise_if_refused,
    require_storable_text,
    text_violations,
)
from runtime.token_settings import TokenSettings
from runtime.tokens import TokenVerifier
from tests.helpers import person


def _clean_person() -> pb.Person:
    return person("hh-1", guardian=pb.Guardian(name="王大明", phone="13912345678",
                                               relation="父母"),
                  priority_groups=["disabled_children", "elderly_living_alone"],
                  needs=[pb.Need(code="care", description="每周两次\t上门\n护理"),
                         pb.Need(code="relief", description="")],
                  address="福建省泉州市 1号楼 \U0001f3e0 \ufffe\uffff")


def test_a_clean_request_passes() -> None:
    request = pb.UpdatePersonRequest(person=_clean_person(), expected_version=3,
                                     update_mask=field_mask_pb2.FieldMask(paths=["name", "needs"]))
    assert text_violations(request) == []
    require_storable_text(request)  # raises nothing
    raise_if_refused(request)


def test_nested_and_repeated_fields_are_named_by_their_path() -> None:
    bad = _clean_person()
    bad.name = "王\x00小明"
    bad.guardian.name = "\x00"
    bad.needs.add(code="ca\x00re", description="ok")  # needs[2]
    bad.needs[0].description = "x\x00"
    bad.priority_groups.append("care\x00")  # priority_groups[2]
    request = pb.UpdatePersonRequest(
        person=bad, update_mask=field_mask_pb2.FieldMask(paths=["name", "na\x00me"]))
    assert {v.field for v in text_violations(request)} == {
        "person.name", "person.guardian.name", "person.needs[0].description",
        "person.needs[2].code", "person.priority_groups[2]", "update_mask.paths[1]"}
    assert {v.description for v in text_violations(request)} == {NUL_RULE}
    with pytest.raises(InvalidArgument) as refused:
        require_storable_text(request)
    assert FieldViolation("person.guardian.name", NUL_RULE) in refused.value.violations
    assert "王" not in refused.value.message  # paths and rules only, never the text itself


def test_map_keys_and_values_and_the_member_a_oneof_holds() -> None:
    """google.protobuf.Struct: a map of Value, whose oneof holds a string, a Struct or a list."""
    struct = struct_pb2.Struct()
    struct.update({"clean": "ok", "名字": "a\x00", "k\x00": "ok", "n": 1.0,
                   "inner": {"list": ["ok", "b\x00", {"deep": "\x00"}]}})
    assert set(text_violations(struct)) == {
        FieldViolation('fields["名字"].string_value', NUL_RULE),
        FieldViolation('fields["k\\u0000"]', KEY_NUL_RULE),
        FieldViolation('fields["inner"].struct_value.fields["list"].list_value.values[1]'
                       '.string_value', NUL_RULE),
        FieldViolation('fields["inner"].struct_value.fields["list"].list_value.values[2]'
                       '.struct_value.fields["deep"].string_value', NUL_RULE)}
    # A oneof holds one member: once another is set, the old text is gone and so is its error.
    value = struct_pb2.Value(string_value="\x00")
    assert [v.field for v in text_violations(value)] == ["string_value"]
    value.number_value = 1
    assert text_violations(value) == []


def test_decoding_hands_on_the_request_or_what_refuses_it() -> None:
    decode = decoding(pb.ListPersonsRequest.FromString)
    clean = pb.ListPersonsRequest(jurisdiction_path="/3505/", need_code="care")
    assert b"\x00" not in clean.SerializeToString()  # not walked at all
    assert decode(clean.SerializeToString()) == clean
    zero = pb.ListPersonsRequest(jurisdiction_path="/3505/", certified=False)
    assert b"\x00" in zero.SerializeToString()  # a 00 byte outside any string: walked, clean
    assert decode(zero.SerializeToString()) == zero
    raise_if_refused(zero)

    bad = pb.ListPersonsRequest(jurisdiction_path="/3505/\x00", need_code="\x00care")
    refused = decode(bad.SerializeToString())
    assert refused == Refused([FieldViolation("jurisdiction_path", NUL_RULE),
                               FieldViolation("need_code", NUL_RULE)])
    with pytest.raises(InvalidArgument, match=r"^jurisdiction_path: must not contain the NUL "
                                              r"character \(U\+0000\); need_code: "):
        raise_if_refused(refused)


def _wire(request: pb.RegisterPersonRequest, text: str, raw: bytes) -> bytes:
    """The request's bytes with one string's UTF-8 replaced by `raw` (same length)."""
    data = request.SerializeToString()
    encoded = text.encode()
    assert len(encoded) == len(raw) and data.count(encoded) == 1
    return data.replace(encoded, raw)


@pytest.mark.parametrize(("raw", "what"), [
    (b"\xed\xa0\x80", "a surrogate"), (b"\xc0\x80x", "an overlong NUL"),
    (b"\xf4\x90\x80\x80", "beyond U+10FFFF"), (b"\xe4\xb8x", "a cut sequence")])
def test_undecodable_text_is_named_by_its_path(raw: bytes, what: str) -> None:
    placeholder = "?" * len(raw)
    bad = _clean_person()
    bad.needs.add(code="care", description=placeholder)
    data = _wire(pb.RegisterPersonRequest(person=bad), placeholder, raw)
    decoded = decoding(pb.RegisterPersonRequest.FromString)(data)
    assert decoded == Refused([FieldViolation("person.needs[2].description", UTF8_RULE)]), what
    with pytest.raises(InvalidArgument, match=r"person\.needs\[2\]\.description: must be valid"):
        raise_if_refused(decoded)


def test_bytes_that_are_no_message_are_refused_naming_the_request_type() -> None:
    decode = decoding(pb.CreateJurisdictionRequest.FromString)
    assert decode(b"\x12\x05abc") == Refused([FieldViolation(  # a string longer than what is left
        "", "must be a cdsp.registry.v1.CreateJurisdictionRequest in the protobuf wire format")])


async def test_the_gate_decodes_what_is_one_message_and_leaves_the_rest() -> None:
    """Unary and server-streaming requests get the checking deserializer; a request stream
    (no method has one) and health and reflection keep theirs."""
    def handler(kind: Any) -> grpc.RpcMethodHandler:
        return kind(lambda request, context: None,
                    request_deserializer=pb.GetPersonRequest.FromString,
                    response_serializer=pb.Person.SerializeToString)

    async def intercepted(method: str, original: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        async def continuation(details: object) -> grpc.RpcMethodHandler:
            return original

        unread = TokenSettings(jwks="never-read.json", revocations="", issuer="cdsp",
                               audience="cdsp-registry")  # no call is made here
        gate = AuthInterceptor(TokenVerifier(unread))
        return await gate.intercept_service(continuation, SimpleNamespace(method=method))

    bad = pb.GetPersonRequest(person_id="\x00").SerializeToString()
    for kind in (grpc.unary_unary_rpc_method_handler, grpc.unary_stream_rpc_method_handler):
        wrapped = await intercepted("/cdsp.registry.v1.RegistryService/GetPerson", handler(kind))
        assert wrapped.request_deserializer(bad) == Refused(
            [FieldViolation("person_id", NUL_RULE)])
    for kind in (grpc.stream_unary_rpc_method_handler, grpc.stream_stream_rpc_method_handler):
        wrapped = await intercepted("/cdsp.registry.v1.RegistryService/GetPerson", handler(kind))
        assert wrapped.request_deserializer == pb.GetPersonRequest.FromString
    untouched = handler(grpc.unary_unary_rpc_method_handler)
    for method in ("/grpc.health.v1.Health/Check",
                   "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"):
        assert await intercepted(method, untouched) is untouched
