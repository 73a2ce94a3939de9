"""Service hours per volunteer or team, and the yearly summary per jurisdiction: volunteers
active, visits, hours, persons covered, and how many of the persons who were red at some time
of the year were visited while red. Years are local calendar years."""

from __future__ import annotations

from datetime import datetime

from runtime.auth import Caller
from runtime.errors import Violations
from runtime.inputs import require_uuid, subtrees
from volunteer.adapters import hours_store
from volunteer.config import Volunteers
from volunteer.service.access import READ_ROLES
from volunteer.service.volunteers import load_volunteer

FIRST_YEAR = 2000


def _year(v: Volunteers, year: int) -> tuple[datetime, datetime]:
    errors = Violations()
    this_year = datetime.now(v.local_tz).year
    errors.check(FIRST_YEAR <= year <= this_year, "year", f"{FIRST_YEAR} to {this_year}")
    errors.raise_if_any()
    return (datetime(year, 1, 1, tzinfo=v.local_tz), datetime(year + 1, 1, 1, tzinfo=v.local_tz))


async def service_hours(v: Volunteers, caller: Caller, volunteer_id: str, team: str,
                        year: int) -> tuple[int, int, int]:
    caller.require_role(*READ_ROLES)
    errors = Violations()
    errors.check(bool(volunteer_id) != bool(team), "volunteer_id",
                 "give a volunteer_id or a team, not both")
    errors.check(len(team) <= 100, "team", "at most 100 characters")
    errors.raise_if_any()
    start, end = _year(v, year or datetime.now(v.local_tz).year)
    async with v.db.unit_of_work(caller) as uow:
        if volunteer_id:
            require_uuid(volunteer_id, "volunteer_id")
            await load_volunteer(uow, volunteer_id)
        return await hours_store.hours(uow, volunteer_id, team.strip(), start, end)


async def yearly_summary(v: Volunteers, caller: Caller, year: int, path: str
                         ) -> tuple[int, ...]:
    caller.require_role(*READ_ROLES)
    start, end = _year(v, year)
    paths = subtrees(caller, path)
    async with v.db.unit_of_work(caller) as uow:
        return await hours_store.summary(uow, paths, start, end)
