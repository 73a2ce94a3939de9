"""Protobuf compatibility check: the protos of today against the last released baseline.

    proto_compat.py baseline [--protos DIR] [--baseline FILE]
        compiles every .proto under protos/ and writes the descriptor set (a FileDescriptorSet
        with the imported well-known types, no source info, so comments do not matter) to
        protos/baseline/cdsp.binpb. The bytes are deterministic: a re-run on unchanged protos
        changes nothing. Run it (`make proto-baseline`) when a release is cut.
    proto_compat.py check [--protos DIR] [--baseline FILE]
        compiles the protos and compares them with the baseline; prints one line per breaking
        change (file, the message/field/enum/RPC, the rule, what changed) and exits 1 when there
        is any, 0 when there is none, 2 when the baseline is missing or the protos do not compile.
        tests/unit/test_proto_compat.py runs the same comparison in `make test`.

What is compared. A package version is the proto package's last segment (cdsp.registry.v1 ->
v1). Every package in the baseline that still exists is compared element by element (by full
name) with the same package now; a package that is new is not compared (it is an addition). A
package version that is gone entirely is allowed only when a higher version of the same package
exists (cdsp.partner.v1 retired once cdsp.partner.v2 is there); otherwise PACKAGE_NO_DELETE.
So a breaking change is made by raising the version: put the changed types in a new package
(cdsp.partner.v2, protos/cdsp/partner/v2/) and leave the old package as it was, or retire the
old package as a whole. Changing or removing things inside a package that still exists fails.

The rules (names after Buf's breaking-change rules, WIRE_JSON category, plus a few of its FILE
rules that matter to the generated Python modules):
  PACKAGE_NO_DELETE              a package version removed with no higher version present
  MESSAGE_NO_DELETE, ENUM_NO_DELETE, SERVICE_NO_DELETE, RPC_NO_DELETE
  TYPE_SAME_FILE                 a top-level message/enum/service moved to another file (the
                                 generated module it is imported from changes)
  FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED, FIELD_NO_DELETE_UNLESS_NAME_RESERVED
                                 a field removed: allowed only with both `reserved N;` (binary
                                 readers) and `reserved "name";` (JSON and by-name readers)
  FIELD_SAME_NUMBER              a field renumbered (same name, other number)
  FIELD_SAME_NAME                a number reused under another name (renamed or reused field)
  FIELD_SAME_JSON_NAME           the JSON name changed (json_name option)
  FIELD_SAME_TYPE                scalar kind or message/enum type changed (int32 -> int64 too:
                                 it changes JSON and the generated code)
  FIELD_SAME_CARDINALITY         singular <-> repeated, required, or presence (implicit <->
                                 `optional`) changed
  FIELD_SAME_ONEOF               a field moved into, out of, or between oneofs
  ONEOF_NO_DELETE                a oneof removed (WhichOneof callers break)
  RESERVED_MESSAGE_NO_DELETE, RESERVED_ENUM_NO_DELETE
                                 a reserved number or name is no longer reserved
  ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED, ENUM_VALUE_NO_DELETE_UNLESS_NAME_RESERVED
  ENUM_VALUE_SAME_NUMBER         an enum value renumbered
  ENUM_VALUE_SAME_NAME           an enum number now has another name (JSON carries the name)
  RPC_SAME_REQUEST_TYPE, RPC_SAME_RESPONSE_TYPE, RPC_SAME_CLIENT_STREAMING,
  RPC_SAME_SERVER_STREAMING, RPC_SAME_IDEMPOTENCY_LEVEL
Additions (packages, files, messages, fields, enum values, services, RPCs) are allowed.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import grpc_tools
from google.protobuf import descriptor_pb2 as d
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
BASELINE = PROTOS / "baseline" / "cdsp.binpb"
WELL_KNOWN = Path(grpc_tools.__file__).parent / "_proto"
VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d*))?$")
F = d.FieldDescriptorProto


class CompileError(RuntimeError):
    pass


@dataclass(frozen=True, order=True)
class Change:
    file: str
    subject: str  # full name: cdsp.registry.v1.Person.phone
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.file}: {self.subject}: {self.rule}: {self.detail}"


# ---------------------------------------------------------------------------------- compiling

def compile_protos(protos: Path = PROTOS) -> d.FileDescriptorSet:
    """Every .proto under `protos` (paths relative to it, as imports name them) as one
    descriptor set with its imports, no source info."""
    files = sorted(p.relative_to(protos).as_posix() for p in protos.rglob("*.proto"))
    if not files:
        raise CompileError(f"no .proto file under {protos}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "set.binpb"
        code = protoc.main(["protoc", f"-I{protos}", f"-I{WELL_KNOWN}",
                            f"--descriptor_set_out={out}", "--include_imports", *files])
        if code != 0:
            raise CompileError(f"protoc failed with {code} (its message is above)")
        fds = d.FileDescriptorSet()
        fds.ParseFromString(out.read_bytes())
    return fds


def serialize(fds: d.FileDescriptorSet) -> bytes:
    return fds.SerializeToString(deterministic=True)


def load(path: Path) -> d.FileDescriptorSet:
    fds = d.FileDescriptorSet()
    fds.ParseFromString(path.read_bytes())
    return fds


# ---------------------------------------------------------------------------------- indexing

def version_key(package: str) -> tuple[str, tuple[int, int, int]] | None:
    """(the package without its version, an ordering of versions) or None when unversioned:
    v1alpha1 < v1beta1 < v1 < v2alpha1 < v2."""
    base, _, last = package.rpartition(".")
    match = VERSION.match(last)
    if not match:
        return None
    stage = {"alpha": 0, "beta": 1, None: 2}[match.group(2)]
    return base, (int(match.group(1)), stage, int(match.group(3) or 0))


@dataclass
class _Index:
    files: dict[str, d.FileDescriptorProto]
    packages: dict[str, list[str]]
    messages: dict[str, tuple[str, d.DescriptorProto]]
    enums: dict[str, tuple[str, d.EnumDescriptorProto]]
    services: dict[str, tuple[str, d.ServiceDescriptorProto]]


def _own(file: d.FileDescriptorProto) -> bool:
    """The project's own files: not the imported google/protobuf ones."""
    return not file.package.startswith("google.")


def _index(fds: d.FileDescriptorSet) -> _Index:
    index = _Index({}, {}, {}, {}, {})

    def walk(file: str, prefix: str, message: d.DescriptorProto) -> None:
        name = f"{prefix}.{message.name}"
        index.messages[name] = (file, message)
        for nested in message.nested_type:
            walk(file, name, nested)
        for enum in message.enum_type:
            index.enums[f"{name}.{enum.name}"] = (file, enum)

    for file in fds.file:
        if not _own(file):
            continue
        index.files[file.name] = file
        index.packages.setdefault(file.package, []).append(file.name)
        prefix = file.package
        for message in file.message_type:
            walk(file.name, prefix, message)
        for enum in file.enum_type:
            index.enums[f"{prefix}.{enum.name}"] = (file.name, enum)
        for service in file.service:
            index.services[f"{prefix}.{service.name}"] = (file.name, service)
    return index


def _in_package(name: str, package: str) -> bool:
    return name.startswith(package + ".") and "." not in name[len(package) + 1:]


# ---------------------------------------------------------------------------------- helpers

def _type(field: d.FieldDescriptorProto) -> str:
    if field.type in (F.TYPE_MESSAGE, F.TYPE_ENUM, F.TYPE_GROUP):
        return field.type_name.lstrip(".")
    return F.Type.Name(field.type).removeprefix("TYPE_").lower()


def _cardinality(field: d.FieldDescriptorProto, syntax: str) -> tuple[str, str]:
    """(repeated, required or singular; the presence of a singular field)."""
    if field.label == F.LABEL_REPEATED:
        return "repeated", ""
    if field.label == F.LABEL_REQUIRED:
        return "required", ""
    if (syntax == "proto3" and not field.proto3_optional and not field.HasField("oneof_index")
            and field.type not in (F.TYPE_MESSAGE, F.TYPE_GROUP)):
        return "singular", "implicit presence"
    return "singular", "explicit presence"


def _oneof(field: d.FieldDescriptorProto, message: d.DescriptorProto) -> str | None:
    """The real oneof a field belongs to (not the synthetic one of a proto3 `optional`)."""
    if not field.HasField("oneof_index") or field.proto3_optional:
        return None
    return message.oneof_decl[field.oneof_index].name


def _first_uncovered(start: int, end: int, ranges: list[tuple[int, int]]) -> int | None:
    """The first number of [start, end) outside every [s, e) of `ranges`, or None (ranges can
    reach 2^29, so no enumeration)."""
    for s, e in sorted(ranges):
        if s > start:
            break
        start = max(start, e)
        if start >= end:
            return None
    return start if start < end else None


def _message_reserved(message: d.DescriptorProto, number: int) -> bool:
    return any(r.start <= number < r.end for r in message.reserved_range)  # end exclusive


def _enum_reserved(enum: d.EnumDescriptorProto, number: int) -> bool:
    return any(r.start <= number <= r.end for r in enum.reserved_range)  # end inclusive


def _syntax(file: d.FileDescriptorProto) -> str:
    return file.syntax or "proto2"


# ---------------------------------------------------------------------------------- comparing

class _Comparer:
    def __init__(self, old: d.FileDescriptorSet, new: d.FileDescriptorSet) -> None:
        self.old = _index(old)
        self.new = _index(new)
        self.changes: list[Change] = []

    def add(self, file: str, subject: str, rule: str, detail: str) -> None:
        self.changes.append(Change(file, subject, rule, detail))

    def run(self) -> list[Change]:
        for package, files in sorted(self.old.packages.items()):
            if package in self.new.packages:
                self.package(package)
            elif not self.successor(package):
                self.add(files[0], package, "PACKAGE_NO_DELETE",
                         f"package {package} ({', '.join(sorted(files))}) removed; retire a "
                         "package version only once a higher version of it exists")
        return sorted(set(self.changes))

    def successor(self, package: str) -> str | None:
        key = version_key(package)
        if key is None:
            return None
        for other in self.new.packages:
            other_key = version_key(other)
            if other_key and other_key[0] == key[0] and other_key[1] > key[1]:
                return other
        return None

    def package(self, package: str) -> None:
        for name, (file, message) in sorted(self.old.messages.items()):
            if _in_package(name, package):
                self.message(name, file, message, top=True)
        for name, (file, enum) in sorted(self.old.enums.items()):
            if _in_package(name, package):
                self.enum(name, file, enum, top=True)
        for name, (file, service) in sorted(self.old.services.items()):
            if _in_package(name, package):
                self.service(name, file, service)

    def moved(self, name: str, kind: str, old_file: str, new_file: str) -> None:
        if old_file != new_file:
            self.add(new_file, name, "TYPE_SAME_FILE",
                     f"{kind} moved from {old_file} (its generated module changes)")

    # -- messages and fields

    def message(self, name: str, file: str, old: d.DescriptorProto, top: bool) -> None:
        if name not in self.new.messages:
            self.add(file, name, "MESSAGE_NO_DELETE", "message removed")
            return
        new_file, new = self.new.messages[name]
        if top:
            self.moved(name, "message", file, new_file)
        old_syntax = _syntax(self.old.files[file])
        new_syntax = _syntax(self.new.files[new_file])
        new_by_number = {f.number: f for f in new.field}
        new_by_name = {f.name: f for f in new.field}
        for field in old.field:
            subject = f"{name}.{field.name}"
            same_number = new_by_number.get(field.number)
            if same_number is not None:
                if same_number.name != field.name:
                    self.add(new_file, subject, "FIELD_SAME_NAME",
                             f"number {field.number} is now named {same_number.name!r}")
                elif same_number.json_name != field.json_name:
                    self.add(new_file, subject, "FIELD_SAME_JSON_NAME",
                             f"JSON name {field.json_name!r} -> {same_number.json_name!r}")
                self.field(new_file, subject, field, same_number, old, new,
                           old_syntax, new_syntax)
            elif field.name in new_by_name:
                self.add(new_file, subject, "FIELD_SAME_NUMBER",
                         f"renumbered {field.number} -> {new_by_name[field.name].number}")
            else:
                if not _message_reserved(new, field.number):
                    self.add(new_file, subject, "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED",
                             f"field {field.number} removed without `reserved {field.number};`")
                if field.name not in new.reserved_name:
                    self.add(new_file, subject, "FIELD_NO_DELETE_UNLESS_NAME_RESERVED",
                             f"field {field.number} removed without "
                             f"`reserved \"{field.name}\";`")
        new_ranges = [(r.start, r.end) for r in new.reserved_range]
        for r in old.reserved_range:
            number = _first_uncovered(r.start, r.end, new_ranges)
            if number is not None:
                used = new_by_number.get(number)
                self.add(new_file, name, "RESERVED_MESSAGE_NO_DELETE",
                         f"reserved number {number} no longer reserved"
                         + (f" (now field {used.name!r})" if used else ""))
        for reserved in old.reserved_name:
            if reserved not in new.reserved_name:
                self.add(new_file, name, "RESERVED_MESSAGE_NO_DELETE",
                         f"reserved name {reserved!r} no longer reserved")
        old_oneofs = {o.name for o in old.oneof_decl} - self._synthetic(old)
        new_oneofs = {o.name for o in new.oneof_decl} - self._synthetic(new)
        for oneof in sorted(old_oneofs - new_oneofs):
            self.add(new_file, f"{name}.{oneof}", "ONEOF_NO_DELETE", "oneof removed")
        for nested in old.nested_type:
            self.message(f"{name}.{nested.name}", file, nested, top=False)
        for enum in old.enum_type:
            self.enum(f"{name}.{enum.name}", file, enum, top=False)

    @staticmethod
    def _synthetic(message: d.DescriptorProto) -> set[str]:
        return {message.oneof_decl[f.oneof_index].name for f in message.field
                if f.proto3_optional and f.HasField("oneof_index")}

    def field(self, file: str, subject: str, old: d.FieldDescriptorProto,
              new: d.FieldDescriptorProto, old_message: d.DescriptorProto,
              new_message: d.DescriptorProto, old_syntax: str, new_syntax: str) -> None:
        if _type(old) != _type(new):
            self.add(file, subject, "FIELD_SAME_TYPE", f"type {_type(old)} -> {_type(new)}")
        old_oneof, new_oneof = _oneof(old, old_message), _oneof(new, new_message)
        old_card, new_card = _cardinality(old, old_syntax), _cardinality(new, new_syntax)
        if old_oneof or new_oneof:  # a oneof gives presence: FIELD_SAME_ONEOF speaks for it
            old_card, new_card = (old_card[0], ""), (new_card[0], "")
        if old_card != new_card:
            self.add(file, subject, "FIELD_SAME_CARDINALITY",
                     f"{' '.join(old_card).strip()} -> {' '.join(new_card).strip()}")
        if old_oneof != new_oneof:
            self.add(file, subject, "FIELD_SAME_ONEOF",
                     f"oneof {old_oneof or '(none)'} -> {new_oneof or '(none)'}")

    # -- enums

    def enum(self, name: str, file: str, old: d.EnumDescriptorProto, top: bool) -> None:
        if name not in self.new.enums:
            self.add(file, name, "ENUM_NO_DELETE", "enum removed")
            return
        new_file, new = self.new.enums[name]
        if top:
            self.moved(name, "enum", file, new_file)
        new_by_name = {v.name: v for v in new.value}
        new_by_number: dict[int, list[str]] = {}
        for v in new.value:
            new_by_number.setdefault(v.number, []).append(v.name)
        for value in old.value:
            subject = f"{name}.{value.name}"
            if value.name in new_by_name:
                if new_by_name[value.name].number != value.number:
                    self.add(new_file, subject, "ENUM_VALUE_SAME_NUMBER",
                             f"renumbered {value.number} -> {new_by_name[value.name].number}")
            elif value.number in new_by_number:
                self.add(new_file, subject, "ENUM_VALUE_SAME_NAME",
                         f"number {value.number} is now named "
                         f"{', '.join(new_by_number[value.number])}")
            else:
                if not _enum_reserved(new, value.number):
                    self.add(new_file, subject, "ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED",
                             f"value {value.number} removed without `reserved {value.number};`")
                if value.name not in new.reserved_name:
                    self.add(new_file, subject, "ENUM_VALUE_NO_DELETE_UNLESS_NAME_RESERVED",
                             f"value {value.number} removed without "
                             f"`reserved \"{value.name}\";`")
        new_ranges = [(r.start, r.end + 1) for r in new.reserved_range]
        for r in old.reserved_range:
            number = _first_uncovered(r.start, r.end + 1, new_ranges)
            if number is not None:
                self.add(new_file, name, "RESERVED_ENUM_NO_DELETE",
                         f"reserved number {number} no longer reserved")
        for reserved in old.reserved_name:
            if reserved not in new.reserved_name:
                self.add(new_file, name, "RESERVED_ENUM_NO_DELETE",
                         f"reserved name {reserved!r} no longer reserved")

    # -- services

    def service(self, name: str, file: str, old: d.ServiceDescriptorProto) -> None:
        if name not in self.new.services:
            self.add(file, name, "SERVICE_NO_DELETE", "service removed")
            return
        new_file, new = self.new.services[name]
        self.moved(name, "service", file, new_file)
        new_methods = {m.name: m for m in new.method}
        for method in old.method:
            subject = f"{name}.{method.name}"
            now = new_methods.get(method.name)
            if now is None:
                self.add(new_file, subject, "RPC_NO_DELETE", "RPC removed")
                continue
            for rule, before, after in (
                    ("RPC_SAME_REQUEST_TYPE", method.input_type.lstrip("."),
                     now.input_type.lstrip(".")),
                    ("RPC_SAME_RESPONSE_TYPE", method.output_type.lstrip("."),
                     now.output_type.lstrip(".")),
                    ("RPC_SAME_CLIENT_STREAMING", method.client_streaming, now.client_streaming),
                    ("RPC_SAME_SERVER_STREAMING", method.server_streaming, now.server_streaming),
                    ("RPC_SAME_IDEMPOTENCY_LEVEL",
                     d.MethodOptions.IdempotencyLevel.Name(method.options.idempotency_level),
                     d.MethodOptions.IdempotencyLevel.Name(now.options.idempotency_level))):
                if before != after:
                    self.add(new_file, subject, rule, f"{before} -> {after}")


def breaking_changes(old: d.FileDescriptorSet, new: d.FileDescriptorSet) -> list[Change]:
    """Every breaking change from `old` (the baseline) to `new`, sorted by file and name."""
    return _Comparer(old, new).run()


# ---------------------------------------------------------------------------------- commands

def write_baseline(protos: Path = PROTOS, baseline: Path = BASELINE) -> bool:
    """Writes the baseline; True when its bytes changed."""
    data = serialize(compile_protos(protos))
    if baseline.exists() and baseline.read_bytes() == data:
        return False
    baseline.parent.mkdir(parents=True, exist_ok=True)
    baseline.write_bytes(data)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("command", choices=["baseline", "check"])
    parser.add_argument("--protos", type=Path, default=PROTOS)
    parser.add_argument("--baseline", type=Path, default=BASELINE)
    args = parser.parse_args(argv)
    try:
        if args.command == "baseline":
            changed = write_baseline(args.protos, args.baseline)
            print(f"{args.baseline}: {'written' if changed else 'unchanged'}")
            return 0
        if not args.baseline.exists():
            print(f"{args.baseline}: no baseline; run `make proto-baseline`", file=sys.stderr)
            return 2
        old, new = load(args.baseline), compile_protos(args.protos)
    except CompileError as e:
        print(e, file=sys.stderr)
        return 2
    changes = breaking_changes(old, new)
    for change in changes:
        print(change)
    if changes:
        print(f"{len(changes)} breaking change(s) against {args.baseline}. Put an incompatible "
              "change in a new package version (e.g. cdsp.x.v2 in protos/cdsp/x/v2/) and leave "
              "the old one as it was; to remove a field or enum value, reserve its number and "
              "name.")
        return 1
    before, now = set(_index(old).packages), set(_index(new).packages)
    print(f"{len(before & now)} package(s) compatible with {args.baseline}"
          + (f"; new since the baseline: {', '.join(sorted(now - before))}"
             if now - before else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
