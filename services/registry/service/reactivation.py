"""A resident who comes back: the record archived when they moved out becomes active again.

One file per person: a returning resident keeps their record, its service history and last
verification, rather than a second registration (which the resident ID refuses). They may come
back to another grid than the one they left, so the archived record is read outside the
caller's scope; the caller must cover the household they live in now. The record is checked
with today's rules as an existing record: an uncertified child who turned 3 while away is not
refused (they show in ListCertificationDue). Their service records move with them, so the grid
that has them now sees their history.
"""

from __future__ import annotations

from datetime import UTC, datetime

from registry.adapters import person_store
from registry.config import Registry
from registry.domain import events
from registry.domain.household import Household
from registry.service.access import WRITE_ROLES, load_household, load_person
from registry.service.contacts import record_contact
from runtime.auth import Caller
from runtime.db import UnitOfWork
from runtime.errors import NotFound, Violations
from runtime.inputs import is_uuid

REACTIVATED = "reactivated"  # the service record's kind


async def reactivate_person(reg: Registry, caller: Caller, person_id: str, household_id: str,
                            expected_version: int) -> person_store.PersonView:
    caller.require_role(*WRITE_ROLES)
    v = Violations()
    v.check(is_uuid(person_id), "person_id", "must be a UUID")
    v.check(is_uuid(household_id), "household_id", "must be a UUID")
    v.raise_if_any()
    async with reg.db.unit_of_work(caller) as uow:
        household = await load_household(uow, household_id, field="household_id")
        return await reactivate_in(reg, uow, caller, person_id, household, expected_version)


async def reactivate_in(reg: Registry, uow: UnitOfWork, caller: Caller, person_id: str,
                        household: Household, expected_version: int) -> person_store.PersonView:
    """The reactivation inside the caller's unit of work (a resolved registration review
    commits it with its resolution)."""
    view = await person_store.get_person_anywhere(uow, person_id, lock=True)
    if view is None:
        raise NotFound(f"no person {person_id}")
    current = view.person
    current.require_reactivable()
    current.require_version(expected_version)
    person = current.reactivated(household.household_id, household.jurisdiction_path,
                                 reg.today(), reg.priority_groups)
    person.version += 1
    await person_store.write_reactivated(uow, person)
    await person_store.rehome_service_records(uow, person.person_id, person.jurisdiction_path)
    await person_store.add_service_record(uow, person, datetime.now(UTC), REACTIVATED,
                                          "came back after moving out", caller.subject)
    uow.record(events.person_reactivated(person, household.monthly_income_fen),
               aggregate_type="person", aggregate_id=person.person_id,
               version=person.version, jurisdiction_path=person.jurisdiction_path)
    record_contact(uow, person)
    return await load_person(uow, person.person_id)
