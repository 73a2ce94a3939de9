"""SQL for placements, follow-ups, start-up grants and workshop sales, and for what they need of
posts and employers (tables of the jobs area, read and counted here with statements of our own).

Post bookkeeping when a placement ends and the employers' names and agreements are read as the
system: the placement the caller may act on names them, whatever the caller's jurisdictions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from psycopg.errors import UniqueViolation

from runtime.auth import SYSTEM
from runtime.db import UnitOfWork
from runtime.sql import in_subtrees

COLUMNS = ("placement_id::text, person_id::text, post_id::text, coalesce(employer_id::text, ''),"
           " jurisdiction_path, status, full_time, start_date, end_date, end_reason, "
           "monthly_subsidy_fen, next_follow_up_due, last_follow_up_at, version")


@dataclass(frozen=True)
class PlacementRow:
    placement_id: str
    person_id: str
    post_id: str
    employer_id: str          # '' when the post has no employer
    jurisdiction_path: str
    status: int
    full_time: bool
    start_date: date
    end_date: date | None
    end_reason: str
    monthly_subsidy_fen: int
    next_follow_up_due: datetime | None
    last_follow_up_at: datetime | None
    version: int


@dataclass(frozen=True)
class PostRow:
    post_id: str
    kind: int
    employer_id: str
    open: bool
    openings: int
    filled: int
    full_time: bool


@dataclass(frozen=True)
class EmployerTerms:
    name: str
    agreement_start: date
    agreement_end: date | None


def _placement(row: Any) -> PlacementRow:
    return PlacementRow(*row)


async def lock_person(uow: UnitOfWork, person_id: str) -> None:
    """Serialises changes to one person's placements (archived persons included)."""
    await uow.fetchone("SELECT 1 FROM candidates WHERE person_id = %s FOR UPDATE", [person_id])


async def get_post(uow: UnitOfWork, post_id: str) -> PostRow | None:
    row = await uow.fetchone(
        "SELECT post_id::text, kind, coalesce(employer_id::text, ''), open, openings, filled, "
        "full_time FROM posts WHERE post_id = %s FOR UPDATE", [post_id])
    return PostRow(*row) if row else None


async def change_filled(uow: UnitOfWork, post_id: str, by: int) -> None:
    await uow.with_scope(SYSTEM)
    try:
        await uow.execute("UPDATE posts SET filled = greatest(0, least(openings, filled + %s)) "
                          "WHERE post_id = %s", [by, post_id])
    finally:
        await uow.with_scope(uow.caller)


async def employer_terms(uow: UnitOfWork, ids: list[str]) -> dict[str, EmployerTerms]:
    await uow.with_scope(SYSTEM)
    try:
        rows = await uow.fetchall("SELECT employer_id::text, name, agreement_start, agreement_end,"
                                  " monthly_subsidy_fen FROM employers "
                                  "WHERE employer_id = ANY(%s::uuid[])", [ids])
    finally:
        await uow.with_scope(uow.caller)
    return {r[0]: EmployerTerms(r[1], r[2], r[3]) for r in rows}


async def employer_subsidy(uow: UnitOfWork, employer_id: str) -> int:
    await uow.with_scope(SYSTEM)
    try:
        row = await uow.fetchone("SELECT monthly_subsidy_fen FROM employers "
                                 "WHERE employer_id = %s", [employer_id])
    finally:
        await uow.with_scope(uow.caller)
    return int(row[0]) if row else 0


async def insert(uow: UnitOfWork, person_id: str, path: str, post: PostRow, start: date,
                 subsidy_fen: int, due: datetime) -> PlacementRow | None:
    """The new placement, or None when the person already has an active full-time one."""
    try:
        row = await uow.fetchone(
            "INSERT INTO placements (placement_id, person_id, post_id, employer_id, "
            "jurisdiction_path, full_time, start_date, monthly_subsidy_fen, next_follow_up_due,"
            f" placed_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING {COLUMNS}",
            [str(uuid.uuid4()), person_id, post.post_id, post.employer_id or None, path,
             post.full_time, start, subsidy_fen, due, uow.caller.subject])
    except UniqueViolation:
        return None
    return _placement(row)


async def get(uow: UnitOfWork, placement_id: str, lock: bool = False) -> PlacementRow | None:
    row = await uow.fetchone(f"SELECT {COLUMNS} FROM placements WHERE placement_id = %s"
                             f"{' FOR UPDATE' if lock else ''}", [placement_id])
    return _placement(row) if row else None


async def end(uow: UnitOfWork, placement_id: str, end_date: date, reason: str) -> PlacementRow:
    row = await uow.fetchone(
        "UPDATE placements SET status = 2, end_date = %s, end_reason = %s, "
        "next_follow_up_due = NULL, version = version + 1 WHERE placement_id = %s "
        f"RETURNING {COLUMNS}", [end_date, reason, placement_id])
    return _placement(row)


async def add_follow_up(uow: UnitOfWork, p: PlacementRow, visited: datetime, wage: int,
                        adaptation: str, rights_issues: str, last: datetime, due: datetime
                        ) -> PlacementRow:
    """Records a visit and schedules the next (its due and overdue notices start afresh)."""
    await uow.execute(
        "INSERT INTO follow_ups (follow_up_id, placement_id, person_id, jurisdiction_path, "
        "visited_at, monthly_wage_fen, adaptation, rights_issues, recorded_by) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [str(uuid.uuid4()), p.placement_id, p.person_id, p.jurisdiction_path, visited, wage,
         adaptation, rights_issues, uow.caller.subject])
    row = await uow.fetchone(
        "UPDATE placements SET last_follow_up_at = %s, next_follow_up_due = %s, "
        "due_notified = false, overdue_notified = false, version = version + 1 "
        f"WHERE placement_id = %s RETURNING {COLUMNS}", [last, due, p.placement_id])
    return _placement(row)


_FLAGS = {"due": "due_notified", "overdue": "overdue_notified"}


async def mark_notified(uow: UnitOfWork, kind: str, due_before: datetime, limit: int
                        ) -> list[PlacementRow]:
    """Marks up to `limit` active placements whose follow-up fell due before `due_before` and
    was not yet announced as `kind` (due, overdue); replicas scanning at once skip each other's
    rows, so each is announced once."""
    flag = _FLAGS[kind]
    open_ = f"status = 1 AND NOT {flag} AND next_follow_up_due <= %s"
    rows = await uow.fetchall(
        f"UPDATE placements SET {flag} = true, version = version + 1 WHERE placement_id IN "
        f"(SELECT placement_id FROM placements WHERE {open_} ORDER BY next_follow_up_due "
        f"LIMIT %s FOR UPDATE SKIP LOCKED) AND {open_} RETURNING {COLUMNS}",
        [due_before, limit, due_before])
    return [_placement(r) for r in rows]


async def list_overdue(uow: UnitOfWork, paths: list[str], due_before: datetime
                       ) -> list[PlacementRow]:
    subtree, params = in_subtrees(paths, "jurisdiction_path")
    rows = await uow.fetchall(
        f"SELECT {COLUMNS} FROM placements WHERE status = 1 AND next_follow_up_due < %s "
        f"AND {subtree} ORDER BY next_follow_up_due, placement_id", [due_before, *params])
    return [_placement(r) for r in rows]


async def subsidised(uow: UnitOfWork, paths: list[str], first: date, last: date
                     ) -> list[tuple[str, str, date, date | None, int]]:
    """(employer_id, person_id, start, end, monthly subsidy) of placements earning a subsidy
    that overlap [first, last]."""
    subtree, params = in_subtrees(paths, "jurisdiction_path")
    rows = await uow.fetchall(
        "SELECT employer_id::text, person_id::text, start_date, end_date, monthly_subsidy_fen "
        "FROM placements WHERE employer_id IS NOT NULL AND monthly_subsidy_fen > 0 "
        f"AND start_date <= %s AND (end_date IS NULL OR end_date >= %s) AND {subtree}",
        [last, first, *params])
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


async def insert_grant(uow: UnitOfWork, person_id: str, path: str, amount: int, business: str
                       ) -> tuple[str, datetime] | None:
    """(grant_id, awarded_at), or None when the person already had their one-off grant."""
    try:
        row = await uow.fetchone(
            "INSERT INTO startup_grants (grant_id, person_id, jurisdiction_path, amount_fen, "
            "business, awarded_by) VALUES (%s, %s, %s, %s, %s, %s) "
            "RETURNING grant_id::text, awarded_at",
            [str(uuid.uuid4()), person_id, path, amount, business, uow.caller.subject])
    except UniqueViolation:
        return None
    assert row is not None
    return row[0], row[1]


async def insert_sale(uow: UnitOfWork, workshop: str, path: str, amount: int, sold_on: date,
                      goods: str) -> str:
    sale_id = str(uuid.uuid4())
    await uow.execute(
        "INSERT INTO workshop_sales (sale_id, workshop, jurisdiction_path, amount_fen, sold_on, "
        "goods, recorded_by) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        [sale_id, workshop, path, amount, sold_on, goods, uow.caller.subject])
    return sale_id


@dataclass(frozen=True)
class Counts:
    assessed: int
    trained: int
    placed: int
    still_employed: int
    grants_fen: int
    sales_fen: int


async def year_counts(uow: UnitOfWork, paths: list[str], first: date, last: date,
                      since: datetime, until: datetime, known_by: date) -> Counts:
    """The year's figures under the paths: dates in [first, last], times in [since, until).
    Still employed: of the persons placed that year whose first placement of the year started
    six months before `known_by` or earlier, those with a placement six months after it."""
    subtree, sub = in_subtrees(paths, "jurisdiction_path")
    row = await uow.fetchone(
        "WITH firsts AS (SELECT person_id, min(start_date) AS s FROM placements "
        f"WHERE start_date BETWEEN %s AND %s AND {subtree} GROUP BY person_id), "
        "later AS (SELECT person_id, (s + interval '6 months')::date AS d FROM firsts) SELECT "
        "(SELECT count(DISTINCT person_id) FROM assessments WHERE assessed_at >= %s "
        f"AND assessed_at < %s AND {subtree}), "
        "(SELECT count(DISTINCT person_id) FROM enrolments WHERE status = 4 "
        f"AND completed_at >= %s AND completed_at < %s AND {subtree}), "
        "(SELECT count(*) FROM firsts), "
        "(SELECT count(*) FROM later l WHERE l.d <= %s AND EXISTS (SELECT 1 FROM placements q "
        "WHERE q.person_id = l.person_id AND q.start_date <= l.d "
        "AND (q.end_date IS NULL OR q.end_date >= l.d))), "
        "(SELECT coalesce(sum(amount_fen), 0) FROM startup_grants WHERE awarded_at >= %s "
        f"AND awarded_at < %s AND {subtree}), "
        "(SELECT coalesce(sum(amount_fen), 0) FROM workshop_sales "
        f"WHERE sold_on BETWEEN %s AND %s AND {subtree})",
        [first, last, *sub, since, until, *sub, since, until, *sub, known_by,
         since, until, *sub, first, last, *sub])
    assert row is not None
    return Counts(*(int(x) for x in row))
