"""SQL for registration reviews (a resident ID registered where its file is not kept)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from runtime.auth import SYSTEM
from runtime.db import UnitOfWork
from runtime.sql import in_subtrees

OPEN, REACTIVATED, REFUSED = 0, 1, 2


@dataclass
class Review:
    review_id: str
    jurisdiction_path: str
    requested_path: str
    household_id: str
    holder_person_id: str
    holder_path: str
    requested_by: str
    requested_at: datetime
    resolution: int
    note: str
    resolved_by: str
    resolved_at: datetime | None
    version: int


_COLUMNS = ("review_id::text, jurisdiction_path, requested_path, household_id::text, "
            "holder_person_id::text, holder_path, requested_by, requested_at, resolution, note, "
            "coalesce(resolved_by, ''), resolved_at, version")


def _review(row: Any) -> Review:
    return Review(*row)


def common_path(a: str, b: str) -> str:
    """The deepest jurisdiction path both lie under ("/3505/35/" and "/3505/36/" → "/3505/")."""
    shared: list[str] = []
    for x, y in zip(a.strip("/").split("/"), b.strip("/").split("/"), strict=False):
        if x != y:
            break
        shared.append(x)
    return "/" + "".join(f"{part}/" for part in shared)


async def open_review(uow: UnitOfWork, review_id: str, requested_path: str, household_id: str,
                      holder_person_id: str, holder_path: str, requested_by: str) -> None:
    """Files the review under the common path of both places, outside the worker's own scope
    (written under the system scope: the worker may not see it)."""
    await uow.with_scope(SYSTEM)
    try:
        await uow.execute(
            "INSERT INTO registration_reviews (review_id, jurisdiction_path, requested_path, "
            "household_id, holder_person_id, holder_path, requested_by) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [review_id, common_path(requested_path, holder_path), requested_path, household_id,
             holder_person_id, holder_path, requested_by])
    finally:
        await uow.with_scope(uow.caller)


async def get(uow: UnitOfWork, review_id: str, lock: bool = False) -> Review | None:
    row = await uow.fetchone(f"SELECT {_COLUMNS} FROM registration_reviews WHERE review_id = %s"
                             + (" FOR UPDATE" if lock else ""), [review_id])
    return _review(row) if row else None


async def exists_anywhere(uow: UnitOfWork, review_id: str) -> bool:
    await uow.with_scope(SYSTEM)
    try:
        row = await uow.fetchone("SELECT 1 FROM registration_reviews WHERE review_id = %s",
                                 [review_id])
    finally:
        await uow.with_scope(uow.caller)
    return row is not None


async def listed(uow: UnitOfWork, paths: list[str], include_resolved: bool, after: str,
                 limit: int) -> list[Review]:
    """Oldest first (the longest waiting at the top); `after`: the last review id of the page
    before."""
    where, params = in_subtrees(paths, "jurisdiction_path")
    if not include_resolved:
        where += " AND resolution = 0"
    if after:
        where += (" AND (requested_at, review_id) > (SELECT requested_at, review_id FROM "
                  "registration_reviews WHERE review_id = %s)")
        params.append(after)
    rows = await uow.fetchall(f"SELECT {_COLUMNS} FROM registration_reviews WHERE {where} "
                              "ORDER BY requested_at, review_id LIMIT %s", [*params, limit])
    return [_review(r) for r in rows]


async def resolve(uow: UnitOfWork, review: Review) -> None:
    await uow.execute(
        "UPDATE registration_reviews SET resolution = %s, note = %s, resolved_by = %s, "
        "resolved_at = now(), version = version + 1 WHERE review_id = %s",
        [review.resolution, review.note, review.resolved_by, review.review_id])
