"""The protos stay compatible with the committed baseline (protos/baseline/cdsp.binpb), and the
check (scripts/proto_compat.py) finds each kind of breaking change it claims to find."""

from __future__ import annotations

from pathlib import Path

import proto_compat
import pytest
from google.protobuf import descriptor_pb2
from proto_compat import (
    BASELINE,
    PROTOS,
    breaking_changes,
    compile_protos,
    load,
    version_key,
    write_baseline,
)

RELEASED_PACKAGES = {"cdsp.aid.v1", "cdsp.audit.v1", "cdsp.common.v1", "cdsp.employment.v1",
                     "cdsp.events.v1", "cdsp.notification.v1", "cdsp.registry.v1",
                     "cdsp.volunteer.v1"}


# ------------------------------------------------------------------------------ the repository

def test_the_protos_are_compatible_with_the_committed_baseline() -> None:
    changes = breaking_changes(load(BASELINE), compile_protos(PROTOS))
    assert not changes, ("breaking proto changes (raise the package version, or reserve removed "
                         "numbers and names):\n" + "\n".join(map(str, changes)))


def test_the_baseline_holds_the_released_packages() -> None:
    """An empty or partial baseline would make the check above pass vacuously."""
    packages = {f.package for f in load(BASELINE).file}
    assert packages >= RELEASED_PACKAGES
    assert any(f.message_type for f in load(BASELINE).file if f.package == "cdsp.registry.v1")


def test_the_baseline_bytes_are_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "cdsp.binpb", tmp_path / "b" / "cdsp.binpb"
    assert write_baseline(PROTOS, first)
    assert write_baseline(PROTOS, second)
    assert first.read_bytes() == second.read_bytes()
    assert not write_baseline(PROTOS, first)  # a re-run on unchanged protos changes nothing


# ------------------------------------------------------------------------------ the rules

BASE = """syntax = "proto3";
package t.v1;

// An item.
message Item {
  string name = 1;
  int32 count = 2;
  repeated string tags = 3;
  Kind kind = 4;
  Part part = 5;
  oneof choice { string text = 6; int64 code = 7; }
  optional bool flag = 8;
  map<string, int32> totals = 9;
  int32 after = 40;
  reserved 20, 30 to 39;
  reserved "old";
}
message Part {
  string id = 1;
  message Note { string body = 1; }
}
message Other { string id = 1; }
enum Kind { KIND_UNSPECIFIED = 0; KIND_A = 1; KIND_B = 2; reserved 9; reserved "KIND_OLD"; }
enum OtherKind { OTHER_KIND_UNSPECIFIED = 0; }
service Items {
  rpc Get(Part) returns (Item);
  rpc Watch(Part) returns (stream Item);
}
service Spare {
  rpc Ping(Part) returns (Part);
}
"""
FILE = "t/v1/t.proto"


def edit(*pairs: tuple[str, str], text: str = BASE) -> str:
    for old, new in pairs:
        assert text.count(old) == 1, f"{old!r} must occur once"
        text = text.replace(old, new)
    return text


def compile_tree(root: Path, files: dict[str, str]) -> descriptor_pb2.FileDescriptorSet:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return compile_protos(root)


def compare(tmp_path: Path, old: dict[str, str], new: dict[str, str]) -> set[tuple[str, str]]:
    changes = breaking_changes(compile_tree(tmp_path / "old", old),
                               compile_tree(tmp_path / "new", new))
    for change in changes:  # every report names a file, the element and the rule
        assert change.file.endswith(".proto") and change.subject and change.rule, change
    return {(c.subject, c.rule) for c in changes}


BREAKING = {
    "field removed, nothing reserved": (
        [("  int32 count = 2;\n", "")],
        {("t.v1.Item.count", "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED"),
         ("t.v1.Item.count", "FIELD_NO_DELETE_UNLESS_NAME_RESERVED")}),
    "field removed, number reserved, name not": (
        [("  int32 count = 2;\n", "  reserved 2;\n")],
        {("t.v1.Item.count", "FIELD_NO_DELETE_UNLESS_NAME_RESERVED")}),
    "field removed, name reserved, number not": (
        [("  int32 count = 2;\n", '  reserved "count";\n')],
        {("t.v1.Item.count", "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED")}),
    "field removed next to a reserved range": (
        [("  int32 after = 40;\n", '  reserved "after";\n')],
        {("t.v1.Item.after", "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED")}),
    "field renumbered": (
        [("int32 count = 2;", "int32 count = 12;")],
        {("t.v1.Item.count", "FIELD_SAME_NUMBER")}),
    "number reused under another name": (
        [("int32 count = 2;", "int32 total = 2;")],
        {("t.v1.Item.count", "FIELD_SAME_NAME")}),
    "json name changed": (
        [("int32 count = 2;", 'int32 count = 2 [json_name = "n"];')],
        {("t.v1.Item.count", "FIELD_SAME_JSON_NAME")}),
    "scalar type changed": (
        [("int32 count = 2;", "int64 count = 2;")],
        {("t.v1.Item.count", "FIELD_SAME_TYPE")}),
    "message type changed": (
        [("Part part = 5;", "Other part = 5;")],
        {("t.v1.Item.part", "FIELD_SAME_TYPE")}),
    "enum type changed": (
        [("Kind kind = 4;", "OtherKind kind = 4;")],
        {("t.v1.Item.kind", "FIELD_SAME_TYPE")}),
    "enum to int": (
        [("Kind kind = 4;", "int32 kind = 4;")],
        {("t.v1.Item.kind", "FIELD_SAME_TYPE")}),
    "map value type changed": (
        [("map<string, int32> totals", "map<string, int64> totals")],
        {("t.v1.Item.TotalsEntry.value", "FIELD_SAME_TYPE")}),
    "nested message field type changed": (
        [("message Note { string body = 1; }", "message Note { bytes body = 1; }")],
        {("t.v1.Part.Note.body", "FIELD_SAME_TYPE")}),
    "singular to repeated": (
        [("int32 count = 2;", "repeated int32 count = 2;")],
        {("t.v1.Item.count", "FIELD_SAME_CARDINALITY")}),
    "repeated to singular": (
        [("repeated string tags = 3;", "string tags = 3;")],
        {("t.v1.Item.tags", "FIELD_SAME_CARDINALITY")}),
    "implicit presence to optional": (
        [("int32 count = 2;", "optional int32 count = 2;")],
        {("t.v1.Item.count", "FIELD_SAME_CARDINALITY")}),
    "optional to implicit presence": (
        [("optional bool flag = 8;", "bool flag = 8;")],
        {("t.v1.Item.flag", "FIELD_SAME_CARDINALITY")}),
    "field moved into a oneof": (
        [("  int32 count = 2;\n", ""), ("int64 code = 7; }", "int64 code = 7; int32 count = 2; }")],
        {("t.v1.Item.count", "FIELD_SAME_ONEOF")}),
    "field moved out of a oneof": (
        [("oneof choice { string text = 6; int64 code = 7; }",
          "string text = 6;\n  oneof choice { int64 code = 7; }")],
        {("t.v1.Item.text", "FIELD_SAME_ONEOF")}),
    "oneof removed": (
        [("oneof choice { string text = 6; int64 code = 7; }",
          "optional string text = 6;\n  optional int64 code = 7;")],
        {("t.v1.Item.choice", "ONEOF_NO_DELETE"), ("t.v1.Item.text", "FIELD_SAME_ONEOF"),
         ("t.v1.Item.code", "FIELD_SAME_ONEOF")}),
    "reserved number no longer reserved": (
        [("reserved 20, 30 to 39;", "reserved 30 to 39;")],
        {("t.v1.Item", "RESERVED_MESSAGE_NO_DELETE")}),
    "reserved number reused": (
        [("reserved 20, 30 to 39;", "reserved 20, 30 to 38;\n  int32 extra = 39;")],
        {("t.v1.Item", "RESERVED_MESSAGE_NO_DELETE")}),
    "reserved name no longer reserved": (
        [('  reserved "old";\n', "")],
        {("t.v1.Item", "RESERVED_MESSAGE_NO_DELETE")}),
    "message removed": (
        [("message Other { string id = 1; }\n", "")],
        {("t.v1.Other", "MESSAGE_NO_DELETE")}),
    "nested message removed": (
        [("  message Note { string body = 1; }\n", "")],
        {("t.v1.Part.Note", "MESSAGE_NO_DELETE")}),
    "enum removed": (
        [("enum OtherKind { OTHER_KIND_UNSPECIFIED = 0; }\n", "")],
        {("t.v1.OtherKind", "ENUM_NO_DELETE")}),
    "enum value removed, nothing reserved": (
        [("KIND_B = 2; ", "")],
        {("t.v1.Kind.KIND_B", "ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED"),
         ("t.v1.Kind.KIND_B", "ENUM_VALUE_NO_DELETE_UNLESS_NAME_RESERVED")}),
    "enum value removed, number reserved, name not": (
        [("KIND_B = 2; reserved 9;", "reserved 2, 9;")],
        {("t.v1.Kind.KIND_B", "ENUM_VALUE_NO_DELETE_UNLESS_NAME_RESERVED")}),
    "enum value renumbered": (
        [("KIND_B = 2;", "KIND_B = 3;")],
        {("t.v1.Kind.KIND_B", "ENUM_VALUE_SAME_NUMBER")}),
    "enum value renamed": (
        [("KIND_B = 2;", "KIND_C = 2;")],
        {("t.v1.Kind.KIND_B", "ENUM_VALUE_SAME_NAME")}),
    "enum reserved number no longer reserved": (
        [("reserved 9; ", "")],
        {("t.v1.Kind", "RESERVED_ENUM_NO_DELETE")}),
    "enum reserved name no longer reserved": (
        [('reserved "KIND_OLD"; ', "")],
        {("t.v1.Kind", "RESERVED_ENUM_NO_DELETE")}),
    "service removed": (
        [("service Spare {\n  rpc Ping(Part) returns (Part);\n}\n", "")],
        {("t.v1.Spare", "SERVICE_NO_DELETE")}),
    "rpc removed": (
        [("  rpc Watch(Part) returns (stream Item);\n", "")],
        {("t.v1.Items.Watch", "RPC_NO_DELETE")}),
    "rpc request type changed": (
        [("rpc Get(Part)", "rpc Get(Other)")],
        {("t.v1.Items.Get", "RPC_SAME_REQUEST_TYPE")}),
    "rpc response type changed": (
        [("returns (Item);", "returns (Part);")],
        {("t.v1.Items.Get", "RPC_SAME_RESPONSE_TYPE")}),
    "rpc no longer server streaming": (
        [("returns (stream Item)", "returns (Item)")],
        {("t.v1.Items.Watch", "RPC_SAME_SERVER_STREAMING")}),
    "rpc now client streaming": (
        [("rpc Get(Part)", "rpc Get(stream Part)")],
        {("t.v1.Items.Get", "RPC_SAME_CLIENT_STREAMING")}),
    "rpc idempotency level changed": (
        [("rpc Get(Part) returns (Item);",
          "rpc Get(Part) returns (Item) { option idempotency_level = NO_SIDE_EFFECTS; }")],
        {("t.v1.Items.Get", "RPC_SAME_IDEMPOTENCY_LEVEL")}),
}


@pytest.mark.parametrize("case", sorted(BREAKING))
def test_a_breaking_change_is_reported(tmp_path: Path, case: str) -> None:
    edits, expected = BREAKING[case]
    assert compare(tmp_path, {FILE: BASE}, {FILE: edit(*edits)}) == expected


COMPATIBLE = {
    "nothing changed": [],
    "comments, layout and field order": [
        ("// An item.\n", "// An item, reworded.\n"),
        ("  string name = 1;\n  int32 count = 2;\n", "  int32 count = 2;   // how many\n"
                                                     "  string name = 1;\n")],
    "field removed with number and name reserved": [
        ("  int32 count = 2;\n", '  reserved 2;\n  reserved "count";\n')],
    "enum value removed with number and name reserved": [
        ("KIND_B = 2; reserved 9; reserved \"KIND_OLD\";",
         'reserved 2, 9; reserved "KIND_OLD", "KIND_B";')],
    "additions": [
        ("  optional bool flag = 8;\n", "  optional bool flag = 8;\n  string added = 10;\n"),
        ("int64 code = 7; }", "int64 code = 7; bytes blob = 11; }"),
        ("KIND_B = 2;", "KIND_B = 2; KIND_C = 3;"),
        ("message Other { string id = 1; }\n",
         "message Other { string id = 1; }\nmessage Added { Kind kind = 1; }\n"),
        ("  rpc Watch(Part) returns (stream Item);\n",
         "  rpc Watch(Part) returns (stream Item);\n  rpc Put(Item) returns (Part);\n"),
        ("service Spare {",
         "service AddedService { rpc Go(Part) returns (Part); }\nservice Spare {"),
        ("reserved 20, 30 to 39;", "reserved 20, 21, 30 to 39;"),
        ('reserved "old";', 'reserved "old", "older";')],
}


@pytest.mark.parametrize("case", sorted(COMPATIBLE))
def test_a_compatible_change_passes(tmp_path: Path, case: str) -> None:
    new = {FILE: edit(*COMPATIBLE[case]),
           "t/v1/more.proto": 'syntax = "proto3";\npackage t.v1;\nmessage More {}\n',
           "u/v1/u.proto": 'syntax = "proto3";\npackage u.v1;\nmessage New {}\n'}
    assert compare(tmp_path, {FILE: BASE}, new) == set()


def test_a_top_level_type_moved_to_another_file_is_reported(tmp_path: Path) -> None:
    old = {FILE: BASE}
    new = {FILE: edit(("message Other { string id = 1; }\n", ""),
                      ("enum OtherKind { OTHER_KIND_UNSPECIFIED = 0; }\n", ""),
                      ("service Spare {\n  rpc Ping(Part) returns (Part);\n}\n", "")),
           "t/v1/other.proto": 'syntax = "proto3";\npackage t.v1;\nimport "t/v1/t.proto";\n'
                               "message Other { string id = 1; }\n"
                               "enum OtherKind { OTHER_KIND_UNSPECIFIED = 0; }\n"
                               "service Spare { rpc Ping(Part) returns (Part); }\n"}
    assert compare(tmp_path, old, new) == {("t.v1.Other", "TYPE_SAME_FILE"),
                                           ("t.v1.OtherKind", "TYPE_SAME_FILE"),
                                           ("t.v1.Spare", "TYPE_SAME_FILE")}


# ------------------------------------------------------------------------------ versions

V2 = edit(("package t.v1;", "package t.v2;"), ("int32 count = 2;", "int64 count = 12;"),
          ("  rpc Watch(Part) returns (stream Item);\n", ""))


def test_a_breaking_change_in_a_new_version_next_to_the_old_one_passes(tmp_path: Path) -> None:
    assert compare(tmp_path, {FILE: BASE}, {FILE: BASE, "t/v2/t.proto": V2}) == set()


def test_a_file_moved_to_a_new_version_retires_the_old_package(tmp_path: Path) -> None:
    assert compare(tmp_path, {FILE: BASE}, {"t/v2/t.proto": V2}) == set()


def test_a_package_removed_with_no_higher_version_is_reported(tmp_path: Path) -> None:
    other = {"u/v1/u.proto": 'syntax = "proto3";\npackage u.v1;\nmessage U {}\n'}
    assert compare(tmp_path, {FILE: BASE, **other}, other) == {("t.v1", "PACKAGE_NO_DELETE")}
    lower = {"t/v1beta1/t.proto": edit(("package t.v1;", "package t.v1beta1;"))}
    assert compare(tmp_path / "lower", {FILE: BASE}, lower) == {("t.v1", "PACKAGE_NO_DELETE")}


def test_a_new_version_does_not_license_changes_to_the_old_one(tmp_path: Path) -> None:
    new = {FILE: edit(("int32 count = 2;", "int64 count = 2;")), "t/v2/t.proto": V2}
    assert compare(tmp_path, {FILE: BASE}, new) == {("t.v1.Item.count", "FIELD_SAME_TYPE")}


def test_a_file_moved_out_of_a_package_that_lives_on_is_reported(tmp_path: Path) -> None:
    """One file of t.v1 moved to t.v2 while another t.v1 file stays: its types left a live
    package (the old file must stay as it was)."""
    keep = {"t/v1/keep.proto": 'syntax = "proto3";\npackage t.v1;\nmessage Keep {}\n'}
    changes = compare(tmp_path, {FILE: BASE, **keep}, {"t/v2/t.proto": V2, **keep})
    assert ("t.v1.Item", "MESSAGE_NO_DELETE") in changes
    assert ("t.v1.Items", "SERVICE_NO_DELETE") in changes


def test_versions_are_ordered() -> None:
    keys = [version_key(f"t.{v}") for v in ("v1alpha1", "v1beta1", "v1beta2", "v1", "v2")]
    assert all(k is not None and k[0] == "t" for k in keys)
    assert keys == sorted(keys, key=lambda k: k[1] if k else (0, 0, 0))
    assert len({k[1] for k in keys if k}) == len(keys)
    assert version_key("t.common") is None


# ------------------------------------------------------------------------------ the command

def test_the_command_reports_and_exits_1_on_a_breaking_change(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    protos, baseline = tmp_path / "protos", tmp_path / "baseline.binpb"
    paths = ["--protos", str(protos), "--baseline", str(baseline)]
    compile_tree(protos, {FILE: BASE})
    assert proto_compat.main(["baseline", *paths]) == 0
    assert proto_compat.main(["check", *paths]) == 0
    (protos / FILE).write_text(edit(("int32 count = 2;", "int64 count = 2;")))
    capsys.readouterr()
    assert proto_compat.main(["check", *paths]) == 1
    out = capsys.readouterr().out
    assert "t/v1/t.proto: t.v1.Item.count: FIELD_SAME_TYPE: type int32 -> int64" in out


def test_the_command_exits_2_without_a_baseline(tmp_path: Path) -> None:
    compile_tree(tmp_path / "protos", {FILE: BASE})
    assert proto_compat.main(["check", "--protos", str(tmp_path / "protos"),
                              "--baseline", str(tmp_path / "missing.binpb")]) == 2


def test_imported_well_known_types_are_not_compared(tmp_path: Path) -> None:
    """google/protobuf/* come with grpcio-tools: dropping an import (or a tools upgrade that
    changes them) is not a change of ours."""
    old = edit(("package t.v1;\n", 'package t.v1;\nimport "google/protobuf/timestamp.proto";\n'))
    assert compare(tmp_path, {FILE: old}, {FILE: BASE}) == set()
