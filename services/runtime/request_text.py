"""Text a request may carry: checked once, for every RPC of every service, before its handler.

PostgreSQL's text (UTF-8 server encoding) refuses one character a protobuf string can hold: NUL
(U+0000; psycopg refuses to send it, so the call used to fail as INTERNAL inside its handler).
`text_violations` walks a whole request (nested messages, repeated fields, map keys and values,
the member a oneof holds) and names every string holding a NUL by its path in the request:
`person.guardian.name`, `person.needs[2].code`, `update_mask.paths[1]`, `labels["k"]` (map keys
JSON-quoted). UTF-8 writes no character but NUL with a 00 byte, so a request whose bytes hold
none (most do not: only zeros and empty messages put one on the wire) is not walked at all.

Every other character a proto3 string can hold, PostgreSQL stores (control characters, U+FFFE,
U+FFFF, U+10FFFF; tests/integration/test_request_text.py stores them all). What it would refuse
as invalid UTF-8 (surrogates, overlong forms such as C0 80 for NUL, beyond U+10FFFF) protobuf
refuses while parsing a proto3 string, and grpc answered that UNKNOWN with the parser's exception;
here it is INVALID_ARGUMENT naming the string field that is not UTF-8 (the wire format is read
once more to find it) or, for bytes that are no message at all, the request type.

`decoding` wraps a method's request deserializer to do both: it hands on the message, or a
Refused that runtime.interceptors.AuthInterceptor raises (`raise_if_refused`) as InvalidArgument
once the caller is authenticated.

Not looked into: bytes fields (bytea stores NUL) and what a google.protobuf.Any packs (opaque
until a handler unpacks it; no request has one). Only a request that is one message is checked:
a client-streaming method's messages would reach its handler unchecked (it must call
`require_storable_text` on each; none exists today).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message

from runtime.errors import FieldViolation, InvalidArgument

NUL_RULE = "must not contain the NUL character (U+0000)"
KEY_NUL_RULE = "a map key " + NUL_RULE
UTF8_RULE = "must be valid UTF-8"
_STRING = FieldDescriptor.TYPE_STRING
_MESSAGE = FieldDescriptor.TYPE_MESSAGE
Deserializer = Callable[[bytes], Any]


@dataclass(frozen=True)
class Refused:
    """What `decoding` hands on instead of a request PostgreSQL could not store."""

    violations: list[FieldViolation]


def decoding(deserializer: Deserializer) -> Deserializer:
    """The method's request deserializer, handing on Refused for bytes that are no request of
    the method's type and for a request with a NUL in any string."""
    owner = getattr(deserializer, "__self__", None)  # generated code passes Request.FromString
    descriptor = getattr(owner, "DESCRIPTOR", None)
    if not isinstance(descriptor, Descriptor):
        descriptor = None

    def decode(data: bytes) -> Any:
        try:
            request = deserializer(data)
        except DecodeError:
            return Refused([_why_undecodable(data, descriptor)])
        if b"\x00" in data and isinstance(request, Message):
            violations = text_violations(request)
            if violations:
                return Refused(violations)
        return request

    return decode


def raise_if_refused(request: object) -> None:
    """Raises a Refused's violations as InvalidArgument; anything else passes."""
    if isinstance(request, Refused):
        raise InvalidArgument(request.violations)


def require_storable_text(message: Message) -> None:
    """Raises InvalidArgument naming every string in `message` PostgreSQL could not store."""
    violations = text_violations(message)
    if violations:
        raise InvalidArgument(violations)


def text_violations(message: Message, prefix: str = "") -> list[FieldViolation]:
    found: list[FieldViolation] = []
    _walk(message, prefix, found)
    return found


def _walk(message: Message, prefix: str, found: list[FieldViolation]) -> None:
    for field, value in message.ListFields():  # set fields only: an empty string costs nothing
        kind = _kind(field)
        if kind == "text":
            if "\x00" in value:
                found.append(FieldViolation(prefix + field.name, NUL_RULE))
        elif kind == "message":
            _walk(value, f"{prefix}{field.name}.", found)
        elif kind == "texts":
            found.extend(FieldViolation(f"{prefix}{field.name}[{i}]", NUL_RULE)
                         for i, item in enumerate(value) if "\x00" in item)
        elif kind == "messages":
            for i, item in enumerate(value):
                _walk(item, f"{prefix}{field.name}[{i}].", found)
        elif kind == "map":
            _walk_map(field, value, prefix + field.name, found)


def _walk_map(field: FieldDescriptor, entries: Any, path: str,
              found: list[FieldViolation]) -> None:
    value_field = _message_type(field).fields_by_name["value"]
    for key, value in entries.items():
        entry = f"{path}[{json.dumps(key, ensure_ascii=False)}]"
        if isinstance(key, str) and "\x00" in key:
            found.append(FieldViolation(entry, KEY_NUL_RULE))
        if value_field.type == _STRING:
            if "\x00" in value:
                found.append(FieldViolation(entry, NUL_RULE))
        elif value_field.type == _MESSAGE:
            _walk(value, entry + ".", found)


@cache
def _kind(field: FieldDescriptor) -> str:
    """How the walk treats a field: text(s), message(s), map, or "" (nothing to look at)."""
    if field.type == _STRING:
        return "texts" if field.is_repeated else "text"
    if field.type != _MESSAGE or not _holds_text(_message_type(field), set()):
        return ""  # numbers, enums, bytes, and messages without text (Timestamp)
    if _message_type(field).GetOptions().map_entry:
        return "map"
    return "messages" if field.is_repeated else "message"


def _holds_text(descriptor: Descriptor, seen: set[str]) -> bool:
    if descriptor.full_name in seen:  # a recursive type: its other fields decide
        return False
    seen.add(descriptor.full_name)
    return any(f.type == _STRING or (f.type == _MESSAGE and _holds_text(_message_type(f), seen))
               for f in descriptor.fields)


def _message_type(field: FieldDescriptor) -> Descriptor:
    descriptor = field.message_type
    if descriptor is None:
        raise TypeError(f"{field.full_name} is not a message field")
    return descriptor


def _why_undecodable(data: bytes, descriptor: Descriptor | None) -> FieldViolation:
    if descriptor is None:
        return FieldViolation("", "must be the method's request in the protobuf wire format")
    try:
        path = _not_utf8(data, descriptor, "")
    except (IndexError, ValueError):  # the wire format itself is corrupt
        path = None
    if path is not None:
        return FieldViolation(path, UTF8_RULE)
    return FieldViolation("", f"must be a {descriptor.full_name} in the protobuf wire format")


def _not_utf8(data: bytes, descriptor: Descriptor, prefix: str) -> str | None:
    """The path of the first string whose bytes are not UTF-8 (Python's codec refuses what
    protobuf's does: surrogates, overlong forms, beyond U+10FFFF), reading the wire format field
    by field; inside a map entry, `key` or `value` follows the map's name."""
    seen: dict[int, int] = {}
    pos = 0
    while pos < len(data):
        tag, pos = _varint(data, pos)
        number, wire_type = tag >> 3, tag & 7
        if wire_type in (0, 1, 5):
            pos = _varint(data, pos)[1] if wire_type == 0 else pos + (8 if wire_type == 1 else 4)
            continue
        if wire_type != 2:
            raise ValueError("groups are not proto3")
        length, pos = _varint(data, pos)
        if pos + length > len(data):
            raise ValueError("truncated")
        payload, pos = data[pos:pos + length], pos + length
        field = descriptor.fields_by_number.get(number)
        if field is None or field.type not in (_STRING, _MESSAGE):
            continue  # unknown fields, bytes, packed numbers
        index = seen[number] = seen.get(number, -1) + 1
        entry = field.message_type
        path = prefix + field.name
        if field.is_repeated and not (entry and entry.GetOptions().map_entry):
            path += f"[{index}]"
        if entry is None:  # a string
            try:
                payload.decode("utf-8")
            except UnicodeDecodeError:
                return path
        else:
            found = _not_utf8(payload, entry, path + ".")
            if found is not None:
                return found
    return None


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]  # IndexError when truncated
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")
