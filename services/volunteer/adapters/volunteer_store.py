"""SQL for volunteers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from runtime.db import UnitOfWork
from runtime.sql import filed_under

COLUMNS = ("volunteer_id::text, name, kind, phone, skills, weekdays, hours, grid_paths, team, "
           "verified, max_load, load, service_minutes, registered_at, jurisdiction_path")


@dataclass(frozen=True)
class VolunteerRow:
    volunteer_id: str
    name: str
    kind: int
    phone: str
    skills: list[str]
    weekdays: list[int]
    hours: str
    grid_paths: list[str]
    team: str
    verified: bool
    max_load: int
    load: int
    service_minutes: int
    registered_at: datetime
    jurisdiction_path: str


@dataclass(frozen=True)
class NewVolunteer:
    name: str
    kind: int
    phone: str
    skills: list[str]
    weekdays: list[int]
    hours: str
    grid_paths: list[str]
    team: str
    max_load: int


async def add(uow: UnitOfWork, v: NewVolunteer) -> VolunteerRow:
    row = await uow.fetchone(
        "INSERT INTO volunteers (volunteer_id, name, kind, phone, skills, weekdays, hours, "
        "grid_paths, jurisdiction_path, team, max_load, registered_by) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        f"RETURNING {COLUMNS}",
        [str(uuid.uuid4()), v.name, v.kind, v.phone, v.skills, v.weekdays, v.hours,
         v.grid_paths, v.grid_paths[0], v.team, v.max_load, uow.caller.subject])
    assert row is not None
    return VolunteerRow(*row)


async def get(uow: UnitOfWork, volunteer_id: str, lock: bool = False) -> VolunteerRow | None:
    row = await uow.fetchone(f"SELECT {COLUMNS} FROM volunteers WHERE volunteer_id = %s"
                             f"{' FOR UPDATE' if lock else ''}", [volunteer_id])
    return VolunteerRow(*row) if row else None


async def path_anywhere(uow: UnitOfWork, volunteer_id: str) -> str | None:
    return await filed_under(uow, "volunteers", "volunteer_id", volunteer_id)


async def verify(uow: UnitOfWork, volunteer_id: str) -> VolunteerRow:
    row = await uow.fetchone(f"UPDATE volunteers SET verified = true WHERE volunteer_id = %s "
                             f"RETURNING {COLUMNS}", [volunteer_id])
    assert row is not None
    return VolunteerRow(*row)
