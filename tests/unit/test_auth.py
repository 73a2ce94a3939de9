"""Callers and jurisdiction checks (verifying the tokens that name them: test_tokens.py)."""

from __future__ import annotations

import pytest

from runtime.auth import SYSTEM, Caller, current_caller, is_valid_path, set_current_caller
from runtime.errors import PermissionDenied, Unauthenticated

PATH = "/3505/350502/"


# ------------------------------------------------------------------ paths and callers


@pytest.mark.parametrize(("path", "valid"), [
    ("/3505/", True), ("/3505/350502/350502001/g-01/", True), ("/", False), ("", False),
    ("3505/", False), ("/3505", False), ("/35%05/", False), ("/3505/../", False),
    ("/" + "a" * 33 + "/", False), ("/1/2/3/4/5/6/7/8/", True), ("/1/2/3/4/5/6/7/8/9/", False),
])
def test_is_valid_path(path: str, valid: bool) -> None:
    assert is_valid_path(path) is valid


def worker(*scopes: str, role: str = "grid_worker") -> Caller:
    return Caller(subject="w-001", role=role, scopes=scopes)


@pytest.mark.parametrize(("path", "covered"), [
    ("/3505/350502/", True),
    ("/3505/350502/x/", True),
    ("/3505/350502/350502001/g01/", True),
    ("/3505/350503/", False),
    ("/3505/3505021/", False),
    ("/3505/", False),
    ("/3506/350502/", False),
])
def test_covers(path: str, covered: bool) -> None:
    assert worker("/3505/350502/").covers(path) is covered


def test_covers_any_of_several_scopes() -> None:
    caller = worker("/3505/350502/", "/3506/")
    assert caller.covers("/3506/350602/")
    assert not caller.covers("/3507/")


def test_system_covers_everything() -> None:
    assert SYSTEM.covers("/3505/350502/")


def test_require_scope() -> None:
    caller = worker("/3505/350502/")
    caller.require_scope("/3505/350502/g01/")
    with pytest.raises(PermissionDenied, match="this record is outside"):
        caller.require_scope("/3505/350503/")


def test_require_role() -> None:
    caller = worker(PATH, role="volunteer")
    caller.require_role("volunteer", "grid_worker")
    with pytest.raises(PermissionDenied, match="'volunteer'"):
        caller.require_role("grid_worker", "city_admin")


def test_row_filter() -> None:
    assert worker("/3505/350502/", "/3506/").row_filter == "/3505/350502/%,/3506/%"
    assert SYSTEM.row_filter == "/%"


def test_current_caller() -> None:
    caller = worker(PATH)
    set_current_caller(caller)
    try:
        assert current_caller() is caller
    finally:
        set_current_caller(None)
    with pytest.raises(Unauthenticated):
        current_caller()
