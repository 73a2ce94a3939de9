"""SQL for pairings, and the volunteer's load that pairings in the volunteer role count toward.

The load changes only here, in the transaction that makes or ends such a pairing and under the
volunteer's row lock (taken first by the use case), so it never exceeds max_load even under
concurrent Pair calls; the volunteers table's CHECK (load BETWEEN 0 AND max_load) backs it up.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from runtime.auth import SYSTEM
from runtime.db import UnitOfWork
from runtime.sql import filed_under
from volunteer.adapters.volunteer_store import COLUMNS as VOLUNTEER_COLUMNS
from volunteer.adapters.volunteer_store import VolunteerRow

COLUMNS = ("pairing_id::text, person_id::text, volunteer_id::text, role, jurisdiction_path, "
           "started_at, ended_at, end_reason")
MAX_LISTED = 1000
MAX_CANDIDATES = 500


@dataclass(frozen=True)
class PairingRow:
    pairing_id: str
    person_id: str
    volunteer_id: str
    role: int
    jurisdiction_path: str
    started_at: datetime
    ended_at: datetime | None
    end_reason: str

    @property
    def active(self) -> bool:
        return self.ended_at is None


async def get(uow: UnitOfWork, pairing_id: str, lock: bool = False) -> PairingRow | None:
    row = await uow.fetchone(f"SELECT {COLUMNS} FROM pairings WHERE pairing_id = %s"
                             f"{' FOR UPDATE' if lock else ''}", [pairing_id])
    return PairingRow(*row) if row else None


async def path_anywhere(uow: UnitOfWork, pairing_id: str) -> str | None:
    return await filed_under(uow, "pairings", "pairing_id", pairing_id)


async def active_for_person(uow: UnitOfWork, person_id: str) -> list[PairingRow]:
    rows = await uow.fetchall(f"SELECT {COLUMNS} FROM pairings WHERE person_id = %s AND "
                              f"ended_at IS NULL ORDER BY role, started_at", [person_id])
    return [PairingRow(*r) for r in rows]


async def add(uow: UnitOfWork, person_id: str, volunteer_id: str, role: int, path: str
              ) -> PairingRow | None:
    """The new active pairing; None when one of the partial unique indexes refuses it."""
    row = await uow.fetchone(
        "INSERT INTO pairings (pairing_id, person_id, volunteer_id, role, jurisdiction_path, "
        "started_at, started_by) VALUES (%s, %s, %s, %s, %s, clock_timestamp(), %s) "
        f"ON CONFLICT DO NOTHING RETURNING {COLUMNS}",
        [str(uuid.uuid4()), person_id, volunteer_id, role, path, uow.caller.subject])
    return PairingRow(*row) if row else None


async def end(uow: UnitOfWork, pairing_id: str, reason: str) -> PairingRow:
    row = await uow.fetchone(
        "UPDATE pairings SET ended_at = clock_timestamp(), end_reason = %s, ended_by = %s "
        f"WHERE pairing_id = %s AND ended_at IS NULL RETURNING {COLUMNS}",
        [reason, uow.caller.subject, pairing_id])
    assert row is not None
    return PairingRow(*row)


async def lock_volunteer_anywhere(uow: UnitOfWork, volunteer_id: str) -> VolunteerRow | None:
    """The volunteer's row, locked, whatever the caller's scope: ending a pairing frees the
    load of a volunteer filed under another jurisdiction (one of their other grids) too."""
    await uow.with_scope(SYSTEM)
    try:
        row = await uow.fetchone(f"SELECT {VOLUNTEER_COLUMNS} FROM volunteers "
                                 f"WHERE volunteer_id = %s FOR UPDATE", [volunteer_id])
    finally:
        await uow.with_scope(uow.caller)
    return VolunteerRow(*row) if row else None


async def change_load(uow: UnitOfWork, volunteer_id: str, by: int) -> int | None:
    """Adds `by` (+1 or -1) to the load within 0..max_load: the new load, or None when that
    would leave the bounds. The volunteer's row must be locked by the caller."""
    await uow.with_scope(SYSTEM)
    try:
        row = await uow.fetchone(
            "UPDATE volunteers SET load = load + %s WHERE volunteer_id = %s "
            "AND load + %s BETWEEN 0 AND max_load RETURNING load", [by, volunteer_id, by])
    finally:
        await uow.with_scope(uow.caller)
    return int(row[0]) if row else None


async def candidates(uow: UnitOfWork, person_id: str, grids: list[str]) -> list[VolunteerRow]:
    """Volunteers of the caller's jurisdictions serving one of `grids` (the person's grid and
    the paths above it) who are not actively paired with the person."""
    rows = await uow.fetchall(
        f"SELECT {VOLUNTEER_COLUMNS} FROM volunteers v WHERE grid_paths && %s::text[] "
        "AND NOT EXISTS (SELECT 1 FROM pairings p WHERE p.volunteer_id = v.volunteer_id "
        "AND p.person_id = %s AND p.ended_at IS NULL) ORDER BY volunteer_id LIMIT %s",
        [grids, person_id, MAX_CANDIDATES])
    return [VolunteerRow(*r) for r in rows]


async def listed(uow: UnitOfWork, person_id: str | None, volunteer_id: str | None
                 ) -> list[PairingRow]:
    """The pairings of the caller's persons: active first, then ended, newest first."""
    column, value = ("person_id", person_id) if person_id else ("volunteer_id", volunteer_id)
    rows = await uow.fetchall(
        f"SELECT {COLUMNS} FROM pairings WHERE {column} = %s ORDER BY ended_at IS NOT NULL, "
        "coalesce(ended_at, started_at) DESC, pairing_id LIMIT %s", [value, MAX_LISTED])
    return [PairingRow(*r) for r in rows]
