"""Who may do what in the registry, and loading records with the right error when they are
missing or outside the caller's jurisdictions."""

from __future__ import annotations

from registry.adapters import person_store, places_store
from registry.domain.household import Household
from runtime.db import UnitOfWork
from runtime.errors import NotFound, PermissionDenied
from runtime.inputs import require_uuid

WRITE_ROLES = ("grid_worker", "community_worker", "social_worker", "street_admin",
               "district_admin", "city_admin")
READ_ROLES = (*WRITE_ROLES, "family_doctor", "service")
ADMIN_ROLES = ("street_admin", "district_admin", "city_admin")
# Roles that see resident ID and certificate numbers in full; the others get them masked.
FULL_IDENTITY_ROLES = WRITE_ROLES


async def load_person(uow: UnitOfWork, person_id: str, lock: bool = False,
                      history: bool = True) -> person_store.PersonView:
    require_uuid(person_id, "person_id")
    view = await person_store.get_person(uow, person_id, lock=lock, history=history)
    if view is not None:
        return view
    if await person_store.person_jurisdiction_anywhere(uow, person_id) is not None:
        raise PermissionDenied("that person is outside your jurisdictions")
    raise NotFound(f"no person {person_id}")


async def load_household(uow: UnitOfWork, household_id: str, lock: bool = False,
                         field: str = "household_id") -> Household:
    require_uuid(household_id, field)
    household = await places_store.get_household(uow, household_id, lock=lock)
    if household is not None:
        return household
    if await places_store.household_jurisdiction_anywhere(uow, household_id) is not None:
        raise PermissionDenied("that household is outside your jurisdictions")
    raise NotFound(f"no household {household_id}")
