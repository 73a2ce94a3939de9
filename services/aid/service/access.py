"""Who may do what in the aid service, and loading projected records with the right error."""

from __future__ import annotations

from typing import NoReturn

from aid.adapters import projection_store
from aid.adapters.projection_store import HouseholdRow
from runtime import roles
from runtime.db import UnitOfWork
from runtime.errors import NotFound, PermissionDenied
from runtime.inputs import require_uuid

WORKER_ROLES = roles.granted("aid", "write")
READ_ROLES = roles.granted("aid", "read")
# Relief is decided by the community association and above, not by a grid worker alone.
RELIEF_ROLES = roles.granted("aid", "relief")
# Home sickbed visits are made by grid and community workers and by family doctors.
SICKBED_ROLES = roles.granted("aid", "sickbed")


async def not_visible(uow: UnitOfWork, table: str, key: str, value: str, what: str) -> NoReturn:
    """For a record the caller's unit of work could not see: PERMISSION_DENIED when it exists
    outside the caller's jurisdictions, NOT_FOUND when it does not exist at all."""
    if await projection_store.jurisdiction_anywhere(uow, table, key, value):
        raise PermissionDenied(f"that {what} is outside your jurisdictions")
    raise NotFound(f"no {what} {value}")


async def load_household(uow: UnitOfWork, household_id: str, lock: bool = False,
                         field: str = "household_id") -> HouseholdRow:
    require_uuid(household_id, field)
    household = await projection_store.get_household(uow, household_id, lock=lock)
    if household is not None:
        return household
    await not_visible(uow, "households", "household_id", household_id, "household")


async def load_person_path(uow: UnitOfWork, person_id: str, field: str = "person_id") -> str:
    """The jurisdiction of an active person in the caller's scope."""
    require_uuid(person_id, field)
    path = await projection_store.person_path(uow, person_id)
    if path is not None:
        return path
    await not_visible(uow, "persons", "person_id", person_id, "active person")
