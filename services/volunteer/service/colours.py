"""Risk colours: set by a worker with a reason, raised by aid warnings; each change moves the
visit schedule and is announced (RiskColourChanged)."""

from __future__ import annotations

from datetime import UTC, datetime

from cdsp.events.v1 import volunteer_pb2 as ev
from runtime import pending
from runtime.auth import Caller
from runtime.db import UnitOfWork
from runtime.errors import Violations
from volunteer.adapters import person_store
from volunteer.adapters.person_store import PersonRow
from volunteer.config import COLOUR_NAMES, Volunteers
from volunteer.domain import schedule
from volunteer.service.access import VOLUNTEER_READ_ROLES, WORKER_ROLES, load_person

MAX_REASON = 500


async def change(v: Volunteers, uow: UnitOfWork, person: PersonRow, colour: int, reason: str,
                 automatic: bool) -> PersonRow:
    now = datetime.now(UTC)
    due = schedule.after_colour_change(person.next_due_at, person.colour, colour, now,
                                       person.last_visit_at,
                                       v.rules.hours_for(person.living_alone))
    after = await person_store.set_colour(uow, person, colour, reason, automatic, due)
    uow.record(ev.RiskColourChanged(person_id=person.person_id,
                                    colour=colour,  # type: ignore[arg-type]
                                    previous=person.colour,  # type: ignore[arg-type]
                                    reason=reason, automatic=automatic),
               aggregate_type="care_schedule", aggregate_id=person.person_id,
               version=after.colour_version, jurisdiction_path=person.jurisdiction_path)
    return after


async def set_colour(v: Volunteers, caller: Caller, person_id: str, colour: int,
                     reason: str) -> PersonRow:
    caller.require_role(*WORKER_ROLES)
    errors = Violations()
    errors.check(colour in COLOUR_NAMES, "colour", "must be green, yellow or red")
    errors.check(bool(reason.strip()), "reason", "is required: say why")
    errors.check(len(reason) <= MAX_REASON, "reason", f"at most {MAX_REASON} characters")
    errors.raise_if_any()
    async with v.db.unit_of_work(caller) as uow:
        person = await load_person(uow, person_id, lock=True)
        if person.colour == colour:
            return person
        return await change(v, uow, person, colour, reason.strip(), automatic=False)


async def get_schedule(v: Volunteers, caller: Caller, person_id: str) -> PersonRow:
    caller.require_role(*VOLUNTEER_READ_ROLES)
    async with v.db.unit_of_work(caller) as uow:
        return await load_person(uow, person_id)


async def raise_from_warning(v: Volunteers, uow: UnitOfWork, person_ids: list[str], level: int,
                             reason: str) -> int:
    """An aid warning raises each member's colour (never lowers it); returns how many rose."""
    colour = schedule.AID_LEVEL_COLOUR.get(level, 0)
    if not colour or not person_ids:
        return 0
    # A member the registry's topic has not delivered yet: hold the warning until they arrive
    # (an archived member is known, and left as they are).
    known = await person_store.known(uow, person_ids)
    pending.wait_for(pending.person_keys(p for p in person_ids if p not in known))
    changed = 0
    for person in await person_store.get_many(uow, person_ids, lock=True):
        if schedule.raised(person.colour, colour):
            await change(v, uow, person, colour, reason, automatic=True)
            changed += 1
    return changed
