"""SQL for the projection of registry persons as candidates (moves forward by version only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cdsp.events.v1 import registry_pb2 as ev
from runtime.db import UnitOfWork
from runtime.sql import filed_under

EMPLOYMENT_NEED = "employment"
COLUMNS = ("person_id::text, jurisdiction_path, category, grade, birth_date, wants_work, track, "
           "total_score, scores, assessed, placed_full_time")


@dataclass(frozen=True)
class CandidateRow:
    person_id: str
    jurisdiction_path: str
    category: int
    grade: int
    birth_date: date | None
    wants_work: bool
    track: int
    total_score: int
    scores: list[int]
    assessed: bool
    placed_full_time: bool

    def age(self, today: date) -> int:
        if self.birth_date is None:
            return -1
        b = self.birth_date
        return today.year - b.year - ((today.month, today.day) < (b.month, b.day))


def _birth(p: ev.PersonSnapshot) -> date | None:
    d = p.birth_date
    return date(d.year, d.month, d.day) if d.year else None


async def upsert(uow: UnitOfWork, p: ev.PersonSnapshot, version: int) -> bool:
    """Applies a snapshot newer than what is stored (an archive's snapshot too: a versioned
    tombstone an older registration cannot overwrite); returns False for a stale one. A person
    whose path changed takes their open employment work along (`rehome`)."""
    row = await uow.fetchone(
        "WITH old AS (SELECT jurisdiction_path FROM candidates WHERE person_id = %(id)s), "
        "up AS (INSERT INTO candidates AS t (person_id, household_id, jurisdiction_path, "
        "  category, grade, birth_date, wants_work, archived, version) VALUES (%(id)s, "
        "  %(household)s, %(path)s, %(category)s, %(grade)s, %(birth)s, %(wants)s, "
        "  %(archived)s, %(version)s) "
        "  ON CONFLICT (person_id) DO UPDATE SET household_id = EXCLUDED.household_id, "
        "  jurisdiction_path = EXCLUDED.jurisdiction_path, category = EXCLUDED.category, "
        "  grade = EXCLUDED.grade, birth_date = EXCLUDED.birth_date, "
        "  wants_work = EXCLUDED.wants_work, archived = EXCLUDED.archived, "
        "  version = EXCLUDED.version, updated_at = now() "
        "  WHERE t.version < EXCLUDED.version RETURNING 1) "
        "SELECT EXISTS (SELECT 1 FROM up), (SELECT jurisdiction_path FROM old)",
        {"id": p.person_id, "household": p.household_id, "path": p.jurisdiction_path,
         "category": p.category, "grade": p.grade, "birth": _birth(p),
         "wants": EMPLOYMENT_NEED in p.need_codes, "archived": p.archived, "version": version})
    assert row is not None
    applied, old_path = bool(row[0]), row[1]
    if applied and old_path is not None and old_path != p.jurisdiction_path:
        await rehome(uow, [(p.person_id, p.jurisdiction_path)])
    return applied


async def rehome(uow: UnitOfWork, moves: list[tuple[str, str]]) -> None:
    """Persons who moved take their open employment work to their new jurisdiction, in one
    statement: the current plan, enrolments still seated or waiting, and active placements.
    History stays where the work was done (assessments, plan history, completed or withdrawn
    enrolments, attendance, ended placements, follow-up visits, grants, workshop sales): the
    figures a community reported for its year do not change when someone moves away."""
    await uow.execute(
        "WITH moved AS (SELECT * FROM unnest(%s::uuid[], %s::text[]) AS m(person_id, path)), "
        "plans AS (UPDATE plans x SET jurisdiction_path = m.path FROM moved m "
        "  WHERE x.person_id = m.person_id AND x.jurisdiction_path <> m.path RETURNING 1), "
        "enrolments AS (UPDATE enrolments x SET jurisdiction_path = m.path FROM moved m "
        "  WHERE x.person_id = m.person_id AND x.status IN (1, 2) "
        "  AND x.jurisdiction_path <> m.path RETURNING 1), "
        "placements AS (UPDATE placements x SET jurisdiction_path = m.path FROM moved m "
        "  WHERE x.person_id = m.person_id AND x.status = 1 "
        "  AND x.jurisdiction_path <> m.path RETURNING 1) "
        "SELECT (SELECT count(*) FROM plans), (SELECT count(*) FROM enrolments), "
        "(SELECT count(*) FROM placements)",
        [[m[0] for m in moves], [m[1] for m in moves]])


async def set_needs(uow: UnitOfWork, person_id: str, need_codes: list[str], version: int
                    ) -> None:
    """PersonNeedsChanged shares its version with the PersonUpdated of the same change: it
    applies unless the candidate already moved past that version."""
    await uow.execute("UPDATE candidates SET wants_work = %s, updated_at = now() "
                      "WHERE person_id = %s AND version <= %s",
                      [EMPLOYMENT_NEED in need_codes, person_id, version])


async def archive(uow: UnitOfWork, person_id: str, version: int) -> bool:
    """For an archive event without its snapshot (published before archives carried one)."""
    row = await uow.fetchone(
        "UPDATE candidates SET archived = true, version = %s, updated_at = now() "
        "WHERE person_id = %s AND version < %s RETURNING 1", [version, person_id, version])
    return row is not None


async def get(uow: UnitOfWork, person_id: str, lock: bool = False) -> CandidateRow | None:
    row = await uow.fetchone(f"SELECT {COLUMNS} FROM candidates WHERE person_id = %s "
                             f"AND NOT archived{' FOR UPDATE' if lock else ''}", [person_id])
    return CandidateRow(*row) if row else None  # type: ignore[arg-type]


async def path_anywhere(uow: UnitOfWork, person_id: str) -> str | None:
    return await filed_under(uow, "candidates", "person_id", person_id, "AND NOT archived")


async def set_assessment(uow: UnitOfWork, person_id: str, total: int, scores: list[int]) -> None:
    await uow.execute("UPDATE candidates SET total_score = %s, scores = %s, assessed = true, "
                      "updated_at = now() WHERE person_id = %s", [total, scores, person_id])


async def set_track(uow: UnitOfWork, person_id: str, track: int) -> None:
    await uow.execute("UPDATE candidates SET track = %s, updated_at = now() "
                      "WHERE person_id = %s", [track, person_id])


async def set_placed_full_time(uow: UnitOfWork, person_id: str, placed: bool) -> None:
    await uow.execute("UPDATE candidates SET placed_full_time = %s, updated_at = now() "
                      "WHERE person_id = %s", [placed, person_id])
