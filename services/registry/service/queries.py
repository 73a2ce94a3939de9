"""Use cases that read: one person, filtered lists with cursor pages, overdue checks, counts."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

from registry.adapters import person_queries, person_store
from registry.config import Registry
from registry.domain.verification import verified_since_cutoff
from registry.service.access import READ_ROLES, load_person, require_uuid, subtrees
from runtime.auth import Caller
from runtime.errors import FieldViolation, InvalidArgument

DEFAULT_PAGE = 50
MAX_PAGE = 500


def page_size(requested: int) -> int:
    if requested < 0 or requested > MAX_PAGE:
        raise InvalidArgument([FieldViolation("page_size", f"0 (default {DEFAULT_PAGE}) to "
                                                           f"{MAX_PAGE}")])
    return requested or DEFAULT_PAGE


def decode_page_token(token: str) -> str:
    """A page token is the last person id of the previous page, base64url-encoded."""
    if not token:
        return ""
    try:
        raw = base64.urlsafe_b64decode(token.encode() + b"==").decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidArgument([FieldViolation("page_token", "not a token this API issued")]
                              ) from None
    try:
        return require_uuid(raw, "page_token")
    except InvalidArgument:
        raise InvalidArgument([FieldViolation("page_token", "not a token this API issued")]
                              ) from None


Rows = list[person_store.PersonView]


def next_page(rows: Rows, limit: int) -> tuple[Rows, str]:
    """Rows were fetched with limit + 1: the extra row only tells that another page exists."""
    if len(rows) <= limit:
        return rows, ""
    rows = rows[:limit]
    return rows, base64.urlsafe_b64encode(rows[-1].person.person_id.encode()).decode().rstrip("=")


async def get_person(reg: Registry, caller: Caller, person_id: str) -> person_store.PersonView:
    caller.require_role(*READ_ROLES)
    async with reg.db.unit_of_work(caller) as uow:
        return await load_person(uow, person_id)


async def list_persons(reg: Registry, caller: Caller, f: person_queries.PersonFilter, size: int,
                       token: str) -> tuple[list[person_store.PersonView], str]:
    caller.require_role(*READ_ROLES)
    f.paths = subtrees(caller, f.paths[0] if f.paths else "")
    limit = page_size(size)
    after = decode_page_token(token)
    async with reg.db.unit_of_work(caller) as uow:
        rows = await person_queries.list_persons(uow, f, after, limit + 1)
    return next_page(rows, limit)


async def list_overdue(reg: Registry, caller: Caller, path: str, as_of: datetime | None,
                       size: int, token: str) -> tuple[list[person_store.PersonView], str]:
    caller.require_role(*READ_ROLES)
    paths = subtrees(caller, path)
    limit = page_size(size)
    after = decode_page_token(token)
    cutoff = verified_since_cutoff(as_of or datetime.now(UTC), reg.tz)
    async with reg.db.unit_of_work(caller) as uow:
        rows = await person_queries.list_overdue(uow, paths, cutoff, after, limit + 1)
    return next_page(rows, limit)


async def statistics(reg: Registry, caller: Caller, path: str) -> tuple[str, dict[str, object]]:
    caller.require_role(*READ_ROLES)
    paths = subtrees(caller, path)
    async with reg.db.unit_of_work(caller) as uow:
        figures = await person_queries.statistics(uow, paths)
    return ",".join(paths), figures
