"""Who may do what in the registry, and loading records with the right error when they are
missing or outside the caller's jurisdictions."""

from __future__ import annotations

from registry.adapters import person_store, places_store
from registry.domain.household import Household
from runtime import roles
from runtime.auth import Caller
from runtime.db import UnitOfWork
from runtime.errors import NotFound, PermissionDenied
from runtime.inputs import require_uuid

WRITE_ROLES = roles.granted("registry", "write")
READ_ROLES = roles.granted("registry", "read")
# GetPerson: also a resident (their own record) and a guardian (their wards').
READ_OWN_ROLES = roles.granted("registry", "read_own")
ADMIN_ROLES = roles.granted("registry", "administer")
# Roles that see resident ID and certificate numbers in full; the others get them masked.
FULL_IDENTITY_ROLES = roles.granted("registry", "see_identity")


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


def require_own(caller: Caller, person_id: str) -> None:
    """A resident reads only their own record, a guardian only their wards'; others as their
    jurisdictions allow."""
    if caller.role == "resident" and person_id != caller.person_id:
        raise PermissionDenied("a resident reads only their own record")
    if caller.role == "guardian" and person_id not in caller.wards:
        raise PermissionDenied("a guardian reads only their wards' records")
