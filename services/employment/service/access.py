"""Who may do what in the employment service, and loading a candidate with the right error.

Workers of the disabled persons' associations (grid workers up to the city) read and act on the
persons of their jurisdictions; courses, employers and posts are created by community workers
and above. Family doctors and volunteers have no business here.
"""

from __future__ import annotations

from datetime import date

from employment.adapters import candidate_store
from employment.adapters.candidate_store import CandidateRow
from employment.config import Employment
from runtime import roles
from runtime.db import UnitOfWork
from runtime.errors import FailedPrecondition, NotFound, PermissionDenied
from runtime.inputs import require_uuid

WORKER_ROLES = roles.granted("employment", "write")
READ_ROLES = roles.granted("employment", "read")
MANAGER_ROLES = roles.granted("employment", "manage")


async def load_candidate(uow: UnitOfWork, person_id: str, field: str = "person_id",
                         lock: bool = False) -> CandidateRow:
    """An active person of the caller's jurisdictions; NOT_FOUND or PERMISSION_DENIED."""
    require_uuid(person_id, field)
    found = await candidate_store.get(uow, person_id, lock=lock)
    if found is not None:
        return found
    if await candidate_store.path_anywhere(uow, person_id) is not None:
        raise PermissionDenied("that person is outside your jurisdictions")
    raise NotFound(f"no person {person_id} is known to the employment service ({field})")


def require_working_age(emp: Employment, candidate: CandidateRow, today: date) -> int:
    """The candidate's age, or FAILED_PRECONDITION when it is outside working age."""
    age = candidate.age(today)
    low, high = emp.rules.min_age, emp.rules.max_age
    if age < 0:
        raise FailedPrecondition("the person's birth date is not known: working age "
                                 f"({low}-{high}) cannot be checked")
    if not low <= age <= high:
        raise FailedPrecondition(f"the person is {age}: outside working age ({low}-{high})")
    return age
