"""SQL for the projection of registry persons and their care schedules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cdsp.events.v1 import registry_pb2 as ev
from runtime.db import UnitOfWork
from runtime.sql import filed_under

COLUMNS = ("person_id::text, jurisdiction_path, category, grade, living_alone, liaison_id, "
           "colour, colour_reason, colour_set_at, last_visit_at, next_due_at, colour_version")


@dataclass(frozen=True)
class PersonRow:
    person_id: str
    jurisdiction_path: str
    category: int
    grade: int
    living_alone: bool
    liaison_id: str
    colour: int
    colour_reason: str
    colour_set_at: datetime | None
    last_visit_at: datetime | None
    next_due_at: datetime | None
    colour_version: int


@dataclass(frozen=True)
class Applied:
    """What applying a registry snapshot did to the projection."""

    applied: bool                 # False: stale (older than what is held)
    newly_archived: bool
    moved: bool


async def upsert(uow: UnitOfWork, p: ev.PersonSnapshot, version: int, base_colour: int,
                 base_hours: int) -> Applied:
    """Applies a snapshot newer than what is stored (an archive's too: a versioned tombstone
    that an older registration cannot overwrite). A person who becomes cared for gets the base
    colour (green) and a first visit due one interval later; a person who comes to live alone
    is due within that (daily) interval at the latest; a person reactivated after an archive
    starts afresh at the base colour. A person whose path changed takes their care record
    along (`rehome`)."""
    row = await uow.fetchone(
        "WITH old AS (SELECT jurisdiction_path, archived FROM persons "
        "  WHERE person_id = %(id)s), "
        "up AS (INSERT INTO persons AS t (person_id, household_id, jurisdiction_path, category, "
        "  grade, living_alone, liaison_id, archived, version, colour, colour_reason, "
        "  colour_set_at, next_due_at) VALUES (%(id)s, %(household)s, %(path)s, %(category)s, "
        "  %(grade)s, %(alone)s, %(liaison)s, %(archived)s, %(version)s, %(colour)s, "
        "  CASE WHEN %(colour)s > 0 THEN 'living alone or severely disabled' ELSE '' END, "
        "  CASE WHEN %(colour)s > 0 THEN now() END, "
        "  CASE WHEN %(colour)s > 0 THEN now() + make_interval(hours => %(hours)s) END) "
        "  ON CONFLICT (person_id) DO UPDATE SET household_id = EXCLUDED.household_id, "
        "  jurisdiction_path = EXCLUDED.jurisdiction_path, category = EXCLUDED.category, "
        "  grade = EXCLUDED.grade, living_alone = EXCLUDED.living_alone, "
        "  liaison_id = EXCLUDED.liaison_id, archived = EXCLUDED.archived, "
        "  version = EXCLUDED.version, updated_at = now(), "
        "  colour = CASE WHEN t.archived AND NOT EXCLUDED.archived THEN EXCLUDED.colour "
        "    ELSE greatest(t.colour, EXCLUDED.colour) END, "
        "  colour_reason = CASE WHEN (t.archived AND NOT EXCLUDED.archived) "
        "    OR (t.colour = 0 AND EXCLUDED.colour > 0) THEN EXCLUDED.colour_reason "
        "    ELSE t.colour_reason END, "
        "  colour_set_at = CASE WHEN t.archived AND NOT EXCLUDED.archived "
        "    THEN EXCLUDED.colour_set_at "
        "    ELSE coalesce(t.colour_set_at, EXCLUDED.colour_set_at) END, "
        "  next_due_at = CASE WHEN t.archived AND NOT EXCLUDED.archived "
        "    THEN EXCLUDED.next_due_at "
        "    WHEN EXCLUDED.living_alone AND NOT t.living_alone "
        "    THEN least(coalesce(t.next_due_at, EXCLUDED.next_due_at), EXCLUDED.next_due_at) "
        "    ELSE coalesce(t.next_due_at, EXCLUDED.next_due_at) END, "
        "  missed_due_at = CASE WHEN t.archived AND NOT EXCLUDED.archived THEN NULL "
        "    ELSE t.missed_due_at END "
        "  WHERE t.version < EXCLUDED.version RETURNING 1) "
        "SELECT EXISTS (SELECT 1 FROM up), (SELECT jurisdiction_path FROM old), "
        "(SELECT archived FROM old)",
        {"id": p.person_id, "household": p.household_id, "path": p.jurisdiction_path,
         "category": p.category, "grade": p.grade, "alone": p.living_alone,
         "liaison": p.liaison_id, "archived": p.archived, "version": version,
         "colour": base_colour, "hours": base_hours})
    assert row is not None
    applied, old_path, was_archived = bool(row[0]), row[1], bool(row[2])
    moved = applied and old_path is not None and old_path != p.jurisdiction_path
    if moved:
        await rehome(uow, [(p.person_id, p.jurisdiction_path)])
    return Applied(applied, applied and p.archived and not was_archived, moved)


async def rehome(uow: UnitOfWork, moves: list[tuple[str, str]]) -> None:
    """Persons who moved take their care record to their new jurisdiction, in one statement:
    active pairings (the new grid can see and end them), the visit log and the colour history
    (the new team needs what earlier visits found and why the colour is what it is). Ended
    pairings stay where they were."""
    await uow.execute(
        "WITH moved AS (SELECT * FROM unnest(%s::uuid[], %s::text[]) AS m(person_id, path)), "
        "pairings AS (UPDATE pairings x SET jurisdiction_path = m.path FROM moved m "
        "  WHERE x.person_id = m.person_id AND x.ended_at IS NULL "
        "  AND x.jurisdiction_path <> m.path RETURNING 1), "
        "visits AS (UPDATE visits x SET jurisdiction_path = m.path FROM moved m "
        "  WHERE x.person_id = m.person_id AND x.jurisdiction_path <> m.path RETURNING 1), "
        "colours AS (UPDATE colour_history x SET jurisdiction_path = m.path FROM moved m "
        "  WHERE x.person_id = m.person_id AND x.jurisdiction_path <> m.path RETURNING 1) "
        "SELECT (SELECT count(*) FROM pairings), (SELECT count(*) FROM visits), "
        "(SELECT count(*) FROM colours)",
        [[m[0] for m in moves], [m[1] for m in moves]])


async def archive(uow: UnitOfWork, person_id: str, version: int) -> bool:
    """For an archive event without its snapshot (published before archives carried one)."""
    row = await uow.fetchone(
        "UPDATE persons SET archived = true, version = %s, updated_at = now() "
        "WHERE person_id = %s AND version < %s RETURNING 1", [version, person_id, version])
    return row is not None


async def get(uow: UnitOfWork, person_id: str, lock: bool = False) -> PersonRow | None:
    row = await uow.fetchone(f"SELECT {COLUMNS} FROM persons WHERE person_id = %s AND NOT "
                             f"archived{' FOR UPDATE' if lock else ''}", [person_id])
    return PersonRow(*row) if row else None  # type: ignore[arg-type]


async def known(uow: UnitOfWork, person_ids: list[str]) -> set[str]:
    """Which of these persons the projection holds, archived ones included."""
    rows = await uow.fetchall("SELECT person_id::text FROM persons "
                              "WHERE person_id = ANY(%s::uuid[])", [person_ids])
    return {r[0] for r in rows}


async def get_many(uow: UnitOfWork, person_ids: list[str], lock: bool = False
                   ) -> list[PersonRow]:
    rows = await uow.fetchall(f"SELECT {COLUMNS} FROM persons WHERE person_id = ANY(%s::uuid[])"
                              f" AND NOT archived ORDER BY person_id"
                              f"{' FOR UPDATE' if lock else ''}", [person_ids])
    return [PersonRow(*r) for r in rows]  # type: ignore[arg-type]


async def path_anywhere(uow: UnitOfWork, person_id: str) -> str | None:
    return await filed_under(uow, "persons", "person_id", person_id, "AND NOT archived")


async def set_colour(uow: UnitOfWork, person: PersonRow, colour: int, reason: str,
                     automatic: bool, next_due_at: datetime | None) -> PersonRow:
    row = await uow.fetchone(
        f"UPDATE persons SET colour = %s, colour_reason = %s, colour_set_at = now(), "
        f"next_due_at = %s, colour_version = colour_version + 1, updated_at = now() "
        f"WHERE person_id = %s RETURNING {COLUMNS}",
        [colour, reason, next_due_at, person.person_id])
    await uow.execute(
        "INSERT INTO colour_history (person_id, jurisdiction_path, colour, previous, reason, "
        "automatic, set_by) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        [person.person_id, person.jurisdiction_path, colour, person.colour, reason, automatic,
         uow.caller.subject])
    assert row is not None
    return PersonRow(*row)  # type: ignore[arg-type]


async def record_visit(uow: UnitOfWork, person_id: str, visited_at: datetime,
                       next_due_at: datetime | None) -> None:
    """A visit moves the schedule on (a visit logged late never moves it back)."""
    await uow.execute(
        "UPDATE persons SET last_visit_at = greatest(last_visit_at, %s), "
        "next_due_at = CASE WHEN last_visit_at IS NULL OR %s > last_visit_at THEN %s "
        "ELSE next_due_at END, updated_at = now() WHERE person_id = %s",
        [visited_at, visited_at, next_due_at, person_id])
