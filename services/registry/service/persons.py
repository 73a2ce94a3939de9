"""Use cases that change a person's record: register, update, archive, verify, add service."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from psycopg.errors import UniqueViolation

from registry.adapters import person_store
from registry.config import Registry
from registry.domain import events
from registry.domain.person import ARCHIVED, DECEASED, MOVED_OUT, UPDATABLE, Person
from registry.service import reviews
from registry.service.access import WRITE_ROLES, load_household, load_person
from registry.service.contacts import contact_changed, record_contact
from runtime.auth import Caller
from runtime.db import UnitOfWork
from runtime.errors import FieldViolation, InvalidArgument

CLOCK_SKEW = timedelta(minutes=2)
MAX_BACKDATE = timedelta(days=62)


def _record_person(uow: UnitOfWork, person: Person, payload: object) -> None:
    uow.record(payload, aggregate_type="person",  # type: ignore[arg-type]
               aggregate_id=person.person_id, version=person.version,
               jurisdiction_path=person.jurisdiction_path)


async def register_person(reg: Registry, caller: Caller, person: Person) -> person_store.PersonView:
    caller.require_role(*WRITE_ROLES)
    person.person_id = str(uuid.uuid4())
    person.validate(reg.today(), reg.priority_groups)
    try:
        async with reg.db.unit_of_work(caller) as uow:
            household = await load_household(uow, person.household_id, field="household_id")
            person.jurisdiction_path = household.jurisdiction_path
            person.version = 1
            person.last_verified_at = datetime.now(UTC)  # registration is a full check
            person.created_at = person.updated_at = await person_store.insert_person(uow, person)
            _record_person(uow, person, events.person_registered(person,
                                                                 household.monthly_income_fen))
            record_contact(uow, person)
    except UniqueViolation:
        raise await reviews.refusal(reg, caller, person, household.jurisdiction_path) from None
    return person_store.PersonView(person, household.monthly_income_fen, household.address,
                            household.grid_code, [])


async def update_person(reg: Registry, caller: Caller, incoming: Person, mask: list[str],
                        expected_version: int) -> person_store.PersonView:
    caller.require_role(*WRITE_ROLES)
    unknown = sorted(set(mask) - set(UPDATABLE))
    if not mask or unknown:
        raise InvalidArgument([FieldViolation(
            "update_mask", (f"unknown paths {', '.join(unknown)}; " if unknown else "empty; ")
            + "name one or more of " + ", ".join(UPDATABLE))])
    async with reg.db.unit_of_work(caller) as uow:
        view = await load_person(uow, incoming.person_id, lock=True, history=False)
        current = view.person
        current.require_active()
        current.require_version(expected_version)
        changes: dict[str, object] = {path: getattr(incoming, path) for path in mask}
        if (("category" in changes or "grade" in changes)
                and "certificate_number" not in changes):
            changes["certificate_number"] = ""  # re-derived from the new category and grade
        income = view.household_income_fen
        if "household_id" in changes:
            household = await load_household(uow, str(changes["household_id"]),
                                              field="person.household_id")
            changes["jurisdiction_path"] = household.jurisdiction_path
            income = household.monthly_income_fen
        updated, changed = current.updated(changes, reg.today(), reg.priority_groups)
        if not changed:
            return await load_person(uow, current.person_id)
        updated.version += 1
        await person_store.update_person(uow, updated)
        if updated.jurisdiction_path != current.jurisdiction_path:  # moved: the file follows
            await person_store.rehome_service_records(uow, updated.person_id,
                                                      updated.jurisdiction_path)
        _record_person(uow, updated, events.person_updated(updated, income, changed))
        if "needs" in changed:
            _record_person(uow, updated, events.needs_changed(current, updated))
        if contact_changed(changed):
            record_contact(uow, updated)
        return await load_person(uow, current.person_id)


async def archive_person(reg: Registry, caller: Caller, person_id: str, reason: int,
                         expected_version: int) -> person_store.PersonView:
    caller.require_role(*WRITE_ROLES)
    if reason not in (MOVED_OUT, DECEASED):
        raise InvalidArgument([FieldViolation("reason", "must be moved out or deceased")])
    async with reg.db.unit_of_work(caller) as uow:
        view = await load_person(uow, person_id, lock=True, history=False)
        person = view.person
        person.require_active()
        person.require_version(expected_version)
        person.status, person.archive_reason = ARCHIVED, reason
        person.version += 1
        await person_store.update_person(uow, person, archived=True)
        _record_person(uow, person, events.person_archived(person, view.household_income_fen))
        record_contact(uow, person)  # erased: whoever holds it drops it
        return await load_person(uow, person_id)


async def record_verification(reg: Registry, caller: Caller, person_id: str,
                              verified_at: datetime | None, note: str) -> person_store.PersonView:
    caller.require_role(*WRITE_ROLES)
    now = datetime.now(UTC)
    at = verified_at or now
    v = []
    if at > now + CLOCK_SKEW:
        v.append(FieldViolation("verified_at", "cannot be in the future"))
    elif at < now - MAX_BACKDATE:
        v.append(FieldViolation("verified_at", "at most 62 days ago"))
    if len(note) > 1000:
        v.append(FieldViolation("note", "at most 1000 characters"))
    if v:
        raise InvalidArgument(v)
    async with reg.db.unit_of_work(caller) as uow:
        view = await load_person(uow, person_id, lock=True, history=False)
        person = view.person
        person.require_active()
        person.last_verified_at = max(at, person.last_verified_at or at)
        person.version += 1
        await person_store.update_person(uow, person)
        await person_store.add_service_record(uow, person, at, "verification", note, caller.subject)
        _record_person(uow, person, events.verification_recorded(person, at, caller.subject))
        return await load_person(uow, person_id)


async def add_service_record(reg: Registry, caller: Caller, person_id: str,
                             occurred_at: datetime | None, kind: str, description: str,
                             provider: str) -> person_store.PersonView:
    caller.require_role(*WRITE_ROLES)
    now = datetime.now(UTC)
    at = occurred_at or now
    v = []
    if not kind.strip() or len(kind) > 40:
        v.append(FieldViolation("record.kind", "required, at most 40 characters"))
    if len(description) > 1000:
        v.append(FieldViolation("record.description", "at most 1000 characters"))
    if at > now + CLOCK_SKEW:
        v.append(FieldViolation("record.occurred_at", "cannot be in the future"))
    if v:
        raise InvalidArgument(v)
    async with reg.db.unit_of_work(caller) as uow:
        view = await load_person(uow, person_id, history=False)
        view.person.require_active()
        await person_store.add_service_record(uow, view.person, at, kind.strip(), description,
                                       provider or caller.subject)
        return await load_person(uow, person_id)
