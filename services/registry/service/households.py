"""Use cases: households (one file per household)."""

from __future__ import annotations

import uuid

from registry.adapters import person_store, places_store
from registry.config import Registry
from registry.domain import events
from registry.domain.household import GRID, Household
from registry.service.access import READ_ROLES, WRITE_ROLES, load_household
from runtime.auth import Caller
from runtime.db import UnitOfWork
from runtime.errors import FailedPrecondition, FieldViolation, InvalidArgument

HOUSEHOLD_UPDATABLE = ("address", "monthly_income_fen", "grid_code")


def _record(uow: UnitOfWork, household: Household) -> None:
    uow.record(events.household_changed(household), aggregate_type="household",
               aggregate_id=household.household_id, version=household.version,
               jurisdiction_path=household.jurisdiction_path)


async def create_household(reg: Registry, caller: Caller, grid_code: str, address: str,
                           income_fen: int) -> tuple[Household, list[str]]:
    caller.require_role(*WRITE_ROLES)
    async with reg.db.unit_of_work(caller) as uow:
        grid = await places_store.get_jurisdiction(uow, grid_code)
        if grid is None or grid.level != GRID:
            raise InvalidArgument([FieldViolation("grid_code", "must be an existing grid")])
        caller.require_scope(grid.path, "that grid")
        household = Household(str(uuid.uuid4()), grid_code, grid.path, address.strip(),
                              income_fen)
        household.validate()
        await places_store.insert_household(uow, household)
        _record(uow, household)
    return household, []


async def get_household(reg: Registry, caller: Caller, household_id: str
                        ) -> tuple[Household, list[str]]:
    caller.require_role(*READ_ROLES)
    async with reg.db.unit_of_work(caller) as uow:
        household = await load_household(uow, household_id)
        return household, await places_store.household_members(uow, household.household_id)


async def update_household(reg: Registry, caller: Caller, household_id: str,
                           changes: dict[str, object], expected_version: int
                           ) -> tuple[Household, list[str]]:
    caller.require_role(*WRITE_ROLES)
    unknown = [p for p in changes if p not in HOUSEHOLD_UPDATABLE]
    if unknown or not changes:
        raise InvalidArgument([FieldViolation("update_mask", "name one or more of "
                                              + ", ".join(HOUSEHOLD_UPDATABLE))])
    async with reg.db.unit_of_work(caller) as uow:
        household = await load_household(uow, household_id, lock=True)
        if expected_version != household.version:
            raise FailedPrecondition(f"version {expected_version} is stale: the household is at "
                                     f"version {household.version}; read it again and retry")
        moved_from = household.jurisdiction_path
        for name, value in changes.items():
            setattr(household, name, value)
        if "grid_code" in changes:
            grid = await places_store.get_jurisdiction(uow, household.grid_code)
            if grid is None or grid.level != GRID:
                raise InvalidArgument([FieldViolation("household.grid_code",
                                                      "must be an existing grid")])
            caller.require_scope(grid.path, "that grid")
            household.jurisdiction_path = grid.path
        household.address = household.address.strip()
        household.validate()
        household.version += 1
        await places_store.update_household(uow, household)
        members = await places_store.household_members(uow, household.household_id)
        _record(uow, household)
        if household.jurisdiction_path != moved_from:
            await move_members(uow, household, members)
    return household, members


async def move_members(uow: UnitOfWork, household: Household, members: list[str]) -> None:
    """The household moved to another grid: each active member's record (and its service
    history) is filed there now, a new version announced as PersonUpdated, so every service
    re-homes what it holds of them."""
    for person_id in members:
        view = await person_store.get_person(uow, person_id, lock=True, history=False)
        assert view is not None  # a member of a household the caller may change
        person = view.person
        person.jurisdiction_path = household.jurisdiction_path
        person.version += 1
        await person_store.update_person(uow, person)
        await person_store.rehome_service_records(uow, person_id, person.jurisdiction_path)
        uow.record(events.person_updated(person, household.monthly_income_fen,
                                         ["jurisdiction_path"]),
                   aggregate_type="person", aggregate_id=person_id, version=person.version,
                   jurisdiction_path=person.jurisdiction_path)
