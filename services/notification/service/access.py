"""Who may read which notices and change what, in the notification service.

Every read is also filtered by PostgreSQL row-level security to the caller's jurisdictions.
On top of that: an inbox of a resident (a person id) or of a grid team (a path) is readable by
the workers whose jurisdictions hold it; a worker's own inbox (their subject) by that worker, and
by administrators above them; a resident's by the resident, and a guardian's wards' by the
guardian, nothing else. Volunteers and family doctors read no notices here. The roles come from
the runtime's matrix (runtime.roles).
"""

from __future__ import annotations

import uuid

from notification.adapters import recipient_store
from runtime import roles
from runtime.auth import Caller, is_valid_path
from runtime.db import UnitOfWork
from runtime.errors import FieldViolation, InvalidArgument, NotFound, PermissionDenied
from runtime.inputs import is_uuid

WORKER_ROLES = roles.granted("notification", "write")
READ_ROLES = roles.granted("notification", "read")
INBOX_ROLES = roles.granted("notification", "inbox")
ADMIN_ROLES = roles.granted("notification", "administer")
CONTACT_ROLES = roles.granted("notification", "contact")
SELF_ROLES = ("resident", "guardian")
MAX_RECIPIENT_ID = 200


async def check_inbox(uow: UnitOfWork, caller: Caller, recipient_id: str) -> str:
    """The inbox the caller asked for (their own when empty), or the error saying why not."""
    caller.require_role(*INBOX_ROLES)
    if caller.role in SELF_ROLES:
        return own_inbox(caller, recipient_id)
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


def own_inbox(caller: Caller, recipient_id: str) -> str:
    """A resident reads their own notices only; a guardian those of their wards (who must name
    the ward when they have several)."""
    mine = (caller.person_id,) if caller.role == "resident" else caller.wards
    who = recipient_id or (mine[0] if len(mine) == 1 else "")
    if not who:
        raise InvalidArgument([FieldViolation("recipient_id", "name the ward whose notices to "
                                              "read (you act for several)")])
    if not is_uuid(who) or str(uuid.UUID(who)) not in mine:
        raise PermissionDenied("a resident reads only their own notices, a guardian only their "
                               "wards'")
    return str(uuid.UUID(who))


def require_contact_owner(caller: Caller, recipient_id: str, existing_path: str | None) -> None:
    """Who may set a notice contact: a worker their own; a community worker or above the grid
    team's of a grid in their scope; an administrator (street and above) another worker's, when
    the contact as it stands is filed in their scope too (nobody redirects the e-mail of a
    worker outside their jurisdictions by filing it under their own)."""
    if recipient_id == caller.subject:
        return
    if recipient_id.startswith("/"):
        caller.require_role(*roles.MANAGERS)
        return
    if caller.role not in ADMIN_ROLES:
        raise PermissionDenied("a worker sets only their own notice contact; administrators "
                               "set those of the workers in their jurisdictions")
    if existing_path is not None:
        caller.require_scope(existing_path, "that worker's contact")
