"""Registering and verifying volunteers (students, retirees, neighbours, family doctors and
community workers), the grids they serve and how many persons they may be paired with."""

from __future__ import annotations

import re

from cdsp.events.v1 import volunteer_pb2 as ev
from runtime.auth import Caller, is_valid_path
from runtime.db import UnitOfWork
from runtime.errors import NotFound, PermissionDenied, Violations
from runtime.inputs import require_uuid
from volunteer.adapters import volunteer_store
from volunteer.adapters.volunteer_store import NewVolunteer, VolunteerRow
from volunteer.config import Volunteers
from volunteer.service.access import MANAGER_ROLES, VOLUNTEER_READ_ROLES, WORKER_ROLES

MOBILE = re.compile(r"1[3-9][0-9]{9}")
SKILL = re.compile(r"[a-z][a-z0-9_]{0,39}")
HOURS = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]")
MAX_GRIDS = 10


async def load_volunteer(uow: UnitOfWork, volunteer_id: str, field: str = "volunteer_id",
                         lock: bool = False) -> VolunteerRow:
    require_uuid(volunteer_id, field)
    found = await volunteer_store.get(uow, volunteer_id, lock=lock)
    if found is not None:
        return found
    if await volunteer_store.path_anywhere(uow, volunteer_id) is not None:
        raise PermissionDenied("that volunteer is outside your jurisdictions")
    raise NotFound(f"no volunteer {volunteer_id} ({field})")


def validate(v: Volunteers, new: NewVolunteer) -> NewVolunteer:
    errors = Violations()
    errors.check(0 < len(new.name.strip()) <= 50, "name", "1 to 50 characters")
    errors.check(new.kind in (1, 2, 3, 4, 5), "kind", "student, retiree, neighbour, family "
                                                     "doctor or community worker")
    errors.check(not new.phone or bool(MOBILE.fullmatch(new.phone)), "phone",
                 "an 11-digit mainland mobile number, or empty")
    for i, skill in enumerate(new.skills):
        errors.check(bool(SKILL.fullmatch(skill)), f"skills[{i}]",
                     "a lower-case code such as companionship or sign_language")
    for i, day in enumerate(new.weekdays):
        errors.check(1 <= day <= 7, f"availability.weekdays[{i}]", "1 (Monday) to 7 (Sunday)")
    errors.check(not new.hours or bool(HOURS.fullmatch(new.hours)), "availability.hours",
                 "like 09:00-11:30")
    errors.check(0 < len(new.grid_paths) <= MAX_GRIDS, "grid_paths",
                 f"the grids they serve: 1 to {MAX_GRIDS}")
    for i, path in enumerate(new.grid_paths):
        errors.check(is_valid_path(path), f"grid_paths[{i}]", "must look like /3505/350502/ "
                                                              "(codes between slashes)")
    load = new.max_load or v.rules.default_load
    errors.check(v.rules.min_load <= load <= v.rules.max_load, "max_load",
                 f"{v.rules.min_load} to {v.rules.max_load} persons (0: "
                 f"{v.rules.default_load})")
    errors.check(len(new.team) <= 100, "team", "at most 100 characters")
    errors.raise_if_any()
    return NewVolunteer(new.name.strip(), new.kind, new.phone, sorted(set(new.skills)),
                        sorted(set(new.weekdays)), new.hours,
                        list(dict.fromkeys(new.grid_paths)), new.team.strip(), load)


async def register(v: Volunteers, caller: Caller, new: NewVolunteer) -> VolunteerRow:
    caller.require_role(*WORKER_ROLES)
    checked = validate(v, new)
    for path in checked.grid_paths:
        caller.require_scope(path, "a grid they would serve")
    async with v.db.unit_of_work(caller) as uow:
        row = await volunteer_store.add(uow, checked)
        uow.record(ev.VolunteerRegistered(volunteer_id=row.volunteer_id,
                                          kind=row.kind,  # type: ignore[arg-type]
                                          grid_paths=row.grid_paths),
                   aggregate_type="volunteer", aggregate_id=row.volunteer_id, version=1,
                   jurisdiction_path=row.jurisdiction_path)
    return row


async def get(v: Volunteers, caller: Caller, volunteer_id: str) -> VolunteerRow:
    caller.require_role(*VOLUNTEER_READ_ROLES)
    async with v.db.unit_of_work(caller) as uow:
        return await load_volunteer(uow, volunteer_id)


async def verify(v: Volunteers, caller: Caller, volunteer_id: str) -> VolunteerRow:
    caller.require_role(*MANAGER_ROLES)
    async with v.db.unit_of_work(caller) as uow:
        await load_volunteer(uow, volunteer_id, lock=True)
        return await volunteer_store.verify(uow, volunteer_id)
