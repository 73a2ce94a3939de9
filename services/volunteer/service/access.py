"""Who may do what in the volunteer service, and loading a person with the right error.

Workers of the association (grid workers up to the city) read and act on the persons and
volunteers of their jurisdictions; volunteers may log their own visits. Registering and verifying
volunteers and setting colours needs a worker.
"""

from __future__ import annotations

from runtime import roles
from runtime.db import UnitOfWork
from runtime.errors import NotFound, PermissionDenied
from runtime.inputs import require_uuid
from volunteer.adapters import person_store
from volunteer.adapters.person_store import PersonRow

WORKER_ROLES = roles.granted("volunteer", "write")
READ_ROLES = roles.granted("volunteer", "read")
MANAGER_ROLES = roles.granted("volunteer", "manage")
VISIT_ROLES = roles.granted("volunteer", "visit")
# A care schedule and a volunteer's record: also the volunteers and family doctors who visit.
VOLUNTEER_READ_ROLES = roles.granted("volunteer", "read_volunteer")


async def load_person(uow: UnitOfWork, person_id: str, field: str = "person_id",
                      lock: bool = False) -> PersonRow:
    """An active person of the caller's jurisdictions; NOT_FOUND or PERMISSION_DENIED."""
    require_uuid(person_id, field)
    found = await person_store.get(uow, person_id, lock=lock)
    if found is not None:
        return found
    if await person_store.path_anywhere(uow, person_id) is not None:
        raise PermissionDenied("that person is outside your jurisdictions")
    raise NotFound(f"no person {person_id} is known to the volunteer service ({field})")
