"""Use cases: the jurisdiction tree (city → district → street → community → grid)."""

from __future__ import annotations

from registry.adapters import places_store
from registry.config import Registry
from registry.domain import events
from registry.domain.household import CITY, Jurisdiction
from registry.service.access import ADMIN_ROLES
from runtime.auth import Caller
from runtime.db import UnitOfWork
from runtime.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)

JURISDICTION_UPDATABLE = ("name", "minimum_living_standard_fen")


def _record(uow: UnitOfWork, j: Jurisdiction) -> None:
    uow.record(events.jurisdiction_changed(j), aggregate_type="jurisdiction",
               aggregate_id=j.code, version=j.version, jurisdiction_path=j.path)


async def create_jurisdiction(reg: Registry, caller: Caller, code: str, name: str, level: int,
                              parent_code: str, living_standard_fen: int) -> Jurisdiction:
    caller.require_role(*ADMIN_ROLES)
    async with reg.db.unit_of_work(caller) as uow:
        parent = None
        if parent_code:
            parent = await places_store.get_jurisdiction(uow, parent_code)
            if parent is None:
                raise InvalidArgument([FieldViolation("parent_code", "no such jurisdiction")])
        Jurisdiction.validate_new(code, name, level, parent, living_standard_fen)
        path = f"/{code}/" if level == CITY or parent is None else f"{parent.path}{code}/"
        caller.require_scope(path, "the new jurisdiction")
        jurisdiction = Jurisdiction(code, name.strip(), level, parent_code, path,
                                    living_standard_fen)
        if not await places_store.insert_jurisdiction(uow, jurisdiction):
            raise AlreadyExists(f"jurisdiction {code} already exists")
        _record(uow, jurisdiction)
        return jurisdiction


async def update_jurisdiction(reg: Registry, caller: Caller, code: str,
                              changes: dict[str, object], expected_version: int
                              ) -> Jurisdiction:
    """Changes a jurisdiction's name or minimum living standard; announced with a new version
    (the aid service's relief cap follows the standard)."""
    caller.require_role(*ADMIN_ROLES)
    unknown = sorted(set(changes) - set(JURISDICTION_UPDATABLE))
    if not changes or unknown:
        raise InvalidArgument([FieldViolation(
            "update_mask", (f"unknown paths {', '.join(unknown)}; " if unknown else "empty; ")
            + "name one or more of " + ", ".join(JURISDICTION_UPDATABLE))])
    async with reg.db.unit_of_work(caller) as uow:
        jurisdiction = await places_store.get_jurisdiction(uow, code, lock=True)
        if jurisdiction is None:
            raise NotFound(f"no jurisdiction {code!r}")
        caller.require_scope(jurisdiction.path, "that jurisdiction")
        if expected_version != jurisdiction.version:
            raise FailedPrecondition(f"version {expected_version} is stale: the jurisdiction is "
                                     f"at version {jurisdiction.version}; read it again and "
                                     "retry")
        for name, value in changes.items():
            setattr(jurisdiction, name, value)
        jurisdiction.name = jurisdiction.name.strip()
        jurisdiction.validate_changes()
        jurisdiction.version += 1
        await places_store.update_jurisdiction(uow, jurisdiction)
        _record(uow, jurisdiction)
        return jurisdiction


def visible(caller: Caller, path: str) -> bool:
    """A caller sees their own jurisdictions, everything below them, and the ones above them
    (to know where they sit), not their neighbours'."""
    return caller.covers(path) or any(scope.startswith(path) for scope in caller.scopes)


async def get_jurisdiction(reg: Registry, caller: Caller, code: str) -> Jurisdiction:
    async with reg.db.unit_of_work(caller) as uow:
        jurisdiction = await places_store.get_jurisdiction(uow, code)
    if jurisdiction is None:
        raise NotFound(f"no jurisdiction {code!r}")
    if not visible(caller, jurisdiction.path):
        raise PermissionDenied("that jurisdiction is outside yours")
    return jurisdiction


async def list_jurisdictions(reg: Registry, caller: Caller, parent_code: str
                             ) -> list[Jurisdiction]:
    async with reg.db.unit_of_work(caller) as uow:
        if not parent_code:
            return await places_store.jurisdictions_at(uow, caller.scopes)
        parent = await places_store.get_jurisdiction(uow, parent_code)
        if parent is None:
            raise NotFound(f"no jurisdiction {parent_code!r}")
        if not visible(caller, parent.path):
            raise PermissionDenied("that jurisdiction is outside yours")
        children = await places_store.child_jurisdictions(uow, parent_code)
    return [j for j in children if visible(caller, j.path)]
