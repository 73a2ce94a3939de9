"""Use cases that read: one person, filtered lists with cursor pages, overdue checks,
certificates due, counts."""

from __future__ import annotations

from datetime import UTC, datetime

from registry.adapters import person_queries, person_store
from registry.config import Registry
from registry.domain.person import UNCERTIFIED_MAX_AGE
from registry.domain.resident_id import SHAPE, born_by
from registry.domain.verification import verified_since_cutoff
from registry.service.access import READ_OWN_ROLES, READ_ROLES, load_person, require_own
from runtime.auth import Caller
from runtime.errors import FieldViolation, InvalidArgument
from runtime.inputs import decode_page_token, next_page, page_size, subtrees

MAX_QUERY = 50


def apply_query(f: person_queries.PersonFilter, query: str) -> None:
    """A list's search: a whole resident ID (18 characters shaped like one) is matched exactly
    through the blind index, anything else as part of a name."""
    text = query.strip()
    if len(text) > MAX_QUERY:
        raise InvalidArgument([FieldViolation("query", f"at most {MAX_QUERY} characters")])
    if SHAPE.fullmatch(text.upper()):
        f.resident_id_index = person_store.resident_id_index(text)
    elif text:
        f.name_part = text


def _next_page(rows: list[person_store.PersonView], limit: int
               ) -> tuple[list[person_store.PersonView], str]:
    return next_page(rows, limit, lambda view: view.person.person_id)


async def get_person(reg: Registry, caller: Caller, person_id: str) -> person_store.PersonView:
    caller.require_role(*READ_OWN_ROLES)
    require_own(caller, person_id)
    async with reg.db.unit_of_work(caller) as uow:
        return await load_person(uow, person_id)


async def list_persons(reg: Registry, caller: Caller, f: person_queries.PersonFilter, size: int,
                       token: str, query: str = "") -> tuple[list[person_store.PersonView], str]:
    caller.require_role(*READ_ROLES)
    apply_query(f, query)
    f.paths = subtrees(caller, f.paths[0] if f.paths else "")
    limit = page_size(size)
    after = decode_page_token(token)
    async with reg.db.unit_of_work(caller) as uow:
        rows = await person_queries.list_persons(uow, f, after, limit + 1)
    return _next_page(rows, limit)


async def list_overdue(reg: Registry, caller: Caller, path: str, as_of: datetime | None,
                       size: int, token: str) -> tuple[list[person_store.PersonView], str]:
    caller.require_role(*READ_ROLES)
    paths = subtrees(caller, path)
    limit = page_size(size)
    after = decode_page_token(token)
    cutoff = verified_since_cutoff(as_of or datetime.now(UTC), reg.tz)
    async with reg.db.unit_of_work(caller) as uow:
        rows = await person_queries.list_overdue(uow, paths, cutoff, after, limit + 1)
    return _next_page(rows, limit)


async def list_certification_due(reg: Registry, caller: Caller, path: str,
                                 as_of: datetime | None, size: int, token: str
                                 ) -> tuple[list[person_store.PersonView], str]:
    """Children registered without a certificate who are 3 or older on the local date of
    `as_of` (default now): their certificate application is due."""
    caller.require_role(*READ_ROLES)
    paths = subtrees(caller, path)
    limit = page_size(size)
    after = decode_page_token(token)
    day = (as_of or datetime.now(UTC)).astimezone(reg.tz).date()
    async with reg.db.unit_of_work(caller) as uow:
        rows = await person_queries.list_certification_due(
            uow, paths, born_by(day, UNCERTIFIED_MAX_AGE), after, limit + 1)
    return _next_page(rows, limit)


async def statistics(reg: Registry, caller: Caller, path: str) -> tuple[str, dict[str, object]]:
    caller.require_role(*READ_ROLES)
    paths = subtrees(caller, path)
    async with reg.db.unit_of_work(caller) as uow:
        figures = await person_queries.statistics(uow, paths)
    return ",".join(paths), figures
