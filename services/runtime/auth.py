"""Who is calling: the caller a verified token names (runtime.tokens), their role and
jurisdictions, and the caller of the current call.

A jurisdiction is a path of codes from the city down, each between slashes
("/3505/350502/350502001/"). A caller may see everything at or below any of their paths.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass

from runtime.errors import PermissionDenied, Unauthenticated

PATH_RE = re.compile(r"/(?:[A-Za-z0-9-]{1,32}/){1,8}")
ROLES = frozenset({
    "grid_worker", "community_worker", "social_worker", "volunteer", "family_doctor",
    "street_admin", "district_admin", "city_admin", "service",
    # A resident signed in for themselves, a guardian acting for their wards, an auditor who
    # reads the audit log only, and a partner's subscriber principal (its event streams only).
    "resident", "guardian", "auditor", "subscriber",
})


def is_valid_path(path: str) -> bool:
    return bool(PATH_RE.fullmatch(path))


@dataclass(frozen=True)
class Caller:
    subject: str
    role: str
    scopes: tuple[str, ...]
    # Who vouched for the caller and which token it was (the audit log records both).
    issuer: str = ""
    token_id: str = ""
    # A resident's own person id; a guardian's wards (person ids): they see those only.
    person_id: str = ""
    wards: tuple[str, ...] = ()
    # Set when a city admin reads outside their jurisdictions with a stated reason (the
    # x-cdsp-break-glass metadata): the audit log records it and the jurisdiction is told.
    break_glass: str = ""

    def covers(self, path: str) -> bool:
        """True when `path` lies at or below one of the caller's jurisdictions."""
        return any(path.startswith(scope) for scope in self.scopes)

    def require_scope(self, path: str, what: str = "this record") -> None:
        if not self.covers(path):
            raise PermissionDenied(f"{what} is outside your jurisdictions")

    def require_role(self, *roles: str) -> None:
        if self.role not in roles:
            raise PermissionDenied(f"role {self.role!r} may not do this; needs one of "
                                   f"{', '.join(sorted(roles))}")

    @property
    def row_filter(self) -> str:
        """The caller's scopes as LIKE patterns, for the row-level security setting."""
        return ",".join(scope + "%" for scope in self.scopes)


SYSTEM = Caller(subject="system", role="service", scopes=("/",))

_current: ContextVar[Caller | None] = ContextVar("cdsp_caller", default=None)


def current_caller() -> Caller:
    caller = _current.get()
    if caller is None:
        raise Unauthenticated("no caller in this context")
    return caller


def current_caller_or_none() -> Caller | None:
    """The caller of this call, if a token was verified (the audit log records who tried)."""
    return _current.get()


def set_current_caller(caller: Caller | None) -> object:
    return _current.set(caller)
