"""Request checks every service makes the same way: ids, jurisdiction paths and subtrees, page
sizes and cursor tokens. Each failure is an InvalidArgument naming the field."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable
from typing import TypeVar

from runtime.auth import Caller, is_valid_path
from runtime.errors import FieldViolation, InvalidArgument

DEFAULT_PAGE = 50
MAX_PAGE = 500
T = TypeVar("T")


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, AttributeError):
        return False
    return True


def require_uuid(value: str, field: str) -> str:
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError):
        raise InvalidArgument([FieldViolation(field, "must be a UUID")]) from None


def require_path(value: str, field: str = "jurisdiction_path") -> str:
    if not is_valid_path(value):
        raise InvalidArgument([FieldViolation(field, "must look like /3505/350502/ "
                                                     "(codes between slashes)")])
    return value


def subtrees(caller: Caller, path: str) -> list[str]:
    """The subtrees a list or count covers: `path` (inside the caller's scope), or all of the
    caller's jurisdictions when it is empty."""
    if not path:
        return list(caller.scopes)
    require_path(path)
    caller.require_scope(path, "that jurisdiction")
    return [path]


def page_size(requested: int) -> int:
    if requested < 0 or requested > MAX_PAGE:
        raise InvalidArgument([FieldViolation("page_size", f"0 (default {DEFAULT_PAGE}) to "
                                                           f"{MAX_PAGE}")])
    return requested or DEFAULT_PAGE


def decode_page_token(token: str) -> str:
    """A page token is the last id (a UUID) of the previous page, base64url-encoded."""
    if not token:
        return ""
    try:
        raw = base64.urlsafe_b64decode(token.encode() + b"==").decode()
        return str(uuid.UUID(raw))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidArgument([FieldViolation("page_token", "not a token this API issued")]
                              ) from None


def next_page(rows: list[T], limit: int, key: Callable[[T], str]) -> tuple[list[T], str]:
    """Rows were fetched with limit + 1: the extra row only tells that another page exists."""
    if len(rows) <= limit:
        return rows, ""
    rows = rows[:limit]
    return rows, base64.urlsafe_b64encode(key(rows[-1]).encode()).decode().rstrip("=")
