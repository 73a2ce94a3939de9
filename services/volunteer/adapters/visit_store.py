"""SQL for visits, the pairings they need, and the missed-visit scan."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from runtime.auth import SYSTEM
from runtime.db import UnitOfWork
from runtime.sql import in_subtrees
from volunteer.adapters.person_store import COLUMNS as PERSON_COLUMNS
from volunteer.adapters.person_store import PersonRow
from volunteer.domain.visits import NewVisit

COLUMNS = ("visit_id::text, person_id::text, volunteer_id::text, by_phone, visited_at, "
           "duration_minutes, health, needs, safety, safety_concern, follow_up_needs")
VOLUNTEER_ROLE = 2   # PairingRole.PAIRING_ROLE_VOLUNTEER: the visiting volunteer
LONGEST = "480 minutes"   # the longest visit: bounds the overlap look-up to an index range
# Schedules not yet announced: the predicate of the partial index persons_unannounced, word for
# word (colour <> 0 rather than > 0 keeps the planner off persons_due: see 0004_visits.sql).
UNANNOUNCED = ("colour <> 0 AND NOT archived AND next_due_at IS NOT NULL "
               "AND missed_due_at IS DISTINCT FROM next_due_at")


@dataclass(frozen=True)
class VisitRow:
    visit_id: str
    person_id: str
    volunteer_id: str
    by_phone: bool
    visited_at: datetime
    duration_minutes: int
    health: str
    needs: str
    safety: str
    safety_concern: bool
    follow_up_needs: list[str]


@dataclass(frozen=True)
class Missed:
    person_id: str
    jurisdiction_path: str
    colour: int
    due_at: datetime
    last_visit_at: datetime | None
    colour_version: int
    volunteer_id: str   # the active visiting volunteer, "" when none


@asynccontextmanager
async def everywhere(uow: UnitOfWork) -> AsyncIterator[None]:
    """Reads and locks whatever the jurisdiction (a volunteer may serve several grids, and
    their visits are filed under each person's): only for what the caller is entitled to by a
    pairing with a person of their own jurisdictions."""
    await uow.with_scope(SYSTEM)
    try:
        yield
    finally:
        await uow.with_scope(uow.caller)


async def lock_volunteer(uow: UnitOfWork, volunteer_id: str) -> bool:
    """Serialises the visits of one volunteer (the overlap check, their service minutes)."""
    row = await uow.fetchone("SELECT 1 FROM volunteers WHERE volunteer_id = %s FOR UPDATE",
                             [volunteer_id])
    return row is not None


async def paired(uow: UnitOfWork, person_id: str, volunteer_id: str) -> bool:
    row = await uow.fetchone("SELECT 1 FROM pairings WHERE person_id = %s AND volunteer_id = %s "
                             "AND ended_at IS NULL LIMIT 1", [person_id, volunteer_id])
    return row is not None


async def overlapping(uow: UnitOfWork, volunteer_id: str, start: datetime, end: datetime
                      ) -> tuple[datetime, datetime] | None:
    """(start, end) of a visit of the volunteer's that overlaps [start, end), if any."""
    row = await uow.fetchone(
        "SELECT visited_at, ends_at FROM visits WHERE volunteer_id = %s "
        f"AND visited_at > %s - interval '{LONGEST}' AND visited_at < %s AND ends_at > %s "
        "ORDER BY visited_at LIMIT 1", [volunteer_id, start, end, start])
    return (row[0], row[1]) if row else None


async def add_service_minutes(uow: UnitOfWork, volunteer_id: str, minutes: int) -> None:
    await uow.execute("UPDATE volunteers SET service_minutes = service_minutes + %s "
                      "WHERE volunteer_id = %s", [minutes, volunteer_id])


async def insert(uow: UnitOfWork, v: NewVisit, person: PersonRow, ends_at: datetime
                 ) -> VisitRow:
    f = v.findings
    row = await uow.fetchone(
        "INSERT INTO visits (visit_id, person_id, volunteer_id, jurisdiction_path, colour, "
        "by_phone, visited_at, duration_minutes, ends_at, health, needs, safety, "
        "safety_concern, follow_up_needs, logged_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, "
        f"%s, %s, %s, %s, %s, %s, %s) RETURNING {COLUMNS}",
        [str(uuid.uuid4()), person.person_id, v.volunteer_id, person.jurisdiction_path,
         person.colour, v.by_phone, v.visited_at, v.duration_minutes, ends_at, f.health,
         f.needs, f.safety, f.safety_concern, v.follow_up_needs, uow.caller.subject])
    assert row is not None
    return VisitRow(*row)


# Marks up to `limit` schedules that fell due and were not yet announced (missed_due_at takes
# the due time), with the active visiting volunteer of each. In no particular order: ordering
# by due time would sort every unannounced row at each batch (the partial index's row count is
# badly estimated), and a scan announces them all anyway.
MARK_MISSED = (
    "WITH due AS (SELECT person_id FROM persons "
    f"WHERE {UNANNOUNCED} AND next_due_at <= now() "
    "LIMIT %(limit)s FOR UPDATE SKIP LOCKED) "
    "UPDATE persons p SET missed_due_at = p.next_due_at FROM due "
    "WHERE p.person_id = due.person_id AND p.missed_due_at IS DISTINCT FROM p.next_due_at "
    "RETURNING p.person_id::text, p.jurisdiction_path, p.colour, p.next_due_at, "
    "p.last_visit_at, p.colour_version, coalesce((SELECT a.volunteer_id::text "
    "FROM pairings a WHERE a.person_id = p.person_id AND a.role = %(role)s "
    "AND a.ended_at IS NULL ORDER BY a.started_at DESC LIMIT 1), '')")


async def mark_missed(uow: UnitOfWork, limit: int) -> list[Missed]:
    """Marks a batch (MARK_MISSED); replicas scanning at once skip each other's rows and
    re-check the condition, so each due time is announced once."""
    rows = await uow.fetchall(MARK_MISSED, {"limit": limit, "role": VOLUNTEER_ROLE})
    return [Missed(*r) for r in rows]


async def list_missed(uow: UnitOfWork, paths: list[str], limit: int) -> list[PersonRow]:
    """Schedules past due in the subtrees, most overdue first (announced or not)."""
    subtree, params = in_subtrees(paths, "jurisdiction_path")
    rows = await uow.fetchall(
        f"SELECT {PERSON_COLUMNS} FROM persons WHERE colour > 0 AND NOT archived "
        f"AND next_due_at IS NOT NULL AND next_due_at <= now() AND {subtree} "
        "ORDER BY next_due_at, person_id LIMIT %s", [*params, limit])
    return [PersonRow(*r) for r in rows]  # type: ignore[arg-type]
