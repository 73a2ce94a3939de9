"""Argument checks shared by the registry's use cases."""

from __future__ import annotations

import uuid

import pytest

from runtime.auth import Caller
from runtime.errors import InvalidArgument, PermissionDenied
from runtime.inputs import require_path, require_uuid, subtrees

CALLER = Caller(subject="w-001", role="grid_worker", scopes=("/3505/350502/",))


def fields_of(exc: pytest.ExceptionInfo[InvalidArgument]) -> list[str]:
    return [v.field for v in exc.value.violations]


def test_require_uuid_returns_the_canonical_form() -> None:
    pid = uuid.uuid4()
    assert require_uuid(str(pid), "person_id") == str(pid)
    assert require_uuid(str(pid).upper(), "person_id") == str(pid)
    assert require_uuid(pid.hex, "person_id") == str(pid)


@pytest.mark.parametrize("value", ["", "abc", "5b0f7c1e-3f7a-4d55-9a35", "g" * 32,
                                   "5b0f7c1e-3f7a-4d55-9a35-2f1e8f0c9a10-00"])
def test_require_uuid_names_the_field(value: str) -> None:
    with pytest.raises(InvalidArgument) as exc:
        require_uuid(value, "household_id")
    assert fields_of(exc) == ["household_id"]


@pytest.mark.parametrize("path", ["/3505/", "/3505/350502/350502001/g-01/"])
def test_require_path_accepts_paths(path: str) -> None:
    assert require_path(path) == path


@pytest.mark.parametrize("path", ["", "/", "3505/", "/3505", "/35 05/", "/3505//",
                                  "/3505/\n"])
def test_require_path_rejects_malformed_paths(path: str) -> None:
    with pytest.raises(InvalidArgument) as exc:
        require_path(path)
    assert fields_of(exc) == ["jurisdiction_path"]
    with pytest.raises(InvalidArgument) as exc:
        require_path(path, "path")
    assert fields_of(exc) == ["path"]


def test_subtrees() -> None:
    assert subtrees(CALLER, "") == list(CALLER.scopes)
    assert subtrees(CALLER, "/3505/350502/g01/") == ["/3505/350502/g01/"]
    with pytest.raises(PermissionDenied):
        subtrees(CALLER, "/3505/350503/")
    with pytest.raises(InvalidArgument):
        subtrees(CALLER, "3505")
