"""Who may read which notices and change what, in the notification service.

Every read is also filtered by PostgreSQL row-level security to the caller's jurisdictions.
On top of that: an inbox of a resident (a person id) or of a grid team (a path) is readable by
the workers whose jurisdictions hold it; a worker's own inbox (their subject) by that worker, and
by administrators above them. Volunteers and family doctors read no notices here.
"""

from __future__ import annotations

import uuid

from notification.adapters import recipient_store
from runtime.auth import Caller, is_valid_path
from runtime.db import UnitOfWork
from runtime.errors import FieldViolation, InvalidArgument, NotFound, PermissionDenied
from runtime.inputs import is_uuid

WORKER_ROLES = ("grid_worker", "community_worker", "social_worker", "street_admin",
                "district_admin", "city_admin")
READ_ROLES = (*WORKER_ROLES, "service")
ADMIN_ROLES = ("street_admin", "district_admin", "city_admin", "service")
CONTACT_ROLES = ("community_worker", "social_worker", *ADMIN_ROLES)
MAX_RECIPIENT_ID = 200


async def check_inbox(uow: UnitOfWork, caller: Caller, recipient_id: str) -> str:
    """The inbox the caller asked for (their own when empty), or the error saying why not."""
    caller.require_role(*READ_ROLES)
    who = recipient_id or caller.subject
    if len(who) > MAX_RECIPIENT_ID:
        raise InvalidArgument([FieldViolation("recipient_id",
                                              f"at most {MAX_RECIPIENT_ID} characters")])
    if is_uuid(who):
        await require_person(uow, str(uuid.UUID(who)), "recipient_id")
        return str(uuid.UUID(who))
    if who.startswith("/"):
        if not is_valid_path(who):
            raise InvalidArgument([FieldViolation("recipient_id", "a grid team's inbox is its "
                                                  "jurisdiction path, like /3505/350502/01/")])
        caller.require_scope(who, "that grid team's inbox")
        return who
    if who != caller.subject and caller.role not in ADMIN_ROLES:
        raise PermissionDenied("a worker's inbox is readable by that worker and administrators")
    return who


async def require_person(uow: UnitOfWork, person_id: str, field: str = "person_id") -> str:
    """A projected person the caller's jurisdictions hold; NOT_FOUND or PERMISSION_DENIED."""
    found = await recipient_store.get(uow, person_id)
    if found is not None:
        return found.jurisdiction_path
    if await recipient_store.path_anywhere(uow, person_id) is not None:
        raise PermissionDenied("that person is outside your jurisdictions")
    raise NotFound(f"no person {person_id} is known to the notification service ({field})")
