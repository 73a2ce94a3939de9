"""Pairing persons with volunteers in the "1+1+N" structure: proposals, pairing, ending (with a
reason; history is kept) and listing. Each pairing made or ended is announced (PairingMade,
PairingEnded).

Locks, always in this order: the person (Pair: pairings of one person are serialised), then
the volunteer (their load); EndPairing takes the volunteer, then the pairing. Under the
volunteer's lock the load is read fresh, so concurrent Pair calls never pair a volunteer
beyond their max_load.
"""

from __future__ import annotations

import uuid
from typing import NoReturn

from cdsp.events.v1 import volunteer_pb2 as ev
from runtime.auth import Caller
from runtime.db import UnitOfWork
from runtime.errors import AlreadyExists, FailedPrecondition, NotFound, PermissionDenied, Violations
from runtime.inputs import require_uuid
from volunteer.adapters import pairing_store
from volunteer.adapters.pairing_store import PairingRow
from volunteer.config import Volunteers
from volunteer.domain import pairing, schedule
from volunteer.domain.pairing import Proposal, Structure
from volunteer.service.access import READ_ROLES, WORKER_ROLES, load_person
from volunteer.service.volunteers import load_volunteer

MAX_REASON = 500
DEFAULT_PROPOSALS, MAX_PROPOSALS = 10, 50


def _require_ids(**ids: str) -> Violations:
    errors = Violations()
    for field, value in ids.items():
        try:
            uuid.UUID(value)
        except ValueError:
            errors.add(field, "must be a UUID")
    return errors


def _not_visible(path: str | None, pairing_id: str) -> NoReturn:
    if path is not None:
        raise PermissionDenied("that pairing is outside your jurisdictions")
    raise NotFound(f"no pairing {pairing_id} (pairing_id)")


async def _load_pairing(uow: UnitOfWork, pairing_id: str, lock: bool = False) -> PairingRow:
    found = await pairing_store.get(uow, pairing_id, lock=lock)
    if found is None:
        _not_visible(await pairing_store.path_anywhere(uow, pairing_id), pairing_id)
    return found


async def propose(v: Volunteers, caller: Caller, person_id: str, limit: int
                  ) -> tuple[list[Proposal], Structure]:
    caller.require_role(*READ_ROLES)
    errors = _require_ids(person_id=person_id)
    errors.check(0 <= limit <= MAX_PROPOSALS, "limit",
                 f"0 (default {DEFAULT_PROPOSALS}) to {MAX_PROPOSALS}")
    errors.raise_if_any()
    async with v.db.unit_of_work(caller) as uow:
        person = await load_person(uow, person_id)
        taken = [p.role for p in await pairing_store.active_for_person(uow, person_id)]
        found = await pairing_store.candidates(uow, person.person_id,
                                               pairing.ancestors(person.jurisdiction_path))
    needs = pairing.structure(person.living_alone, person.grade, taken)
    visits = schedule.visits_per_week(person.colour, v.rules.hours_for(person.living_alone))
    return pairing.propose(found, person, needs, taken, visits,
                           limit or DEFAULT_PROPOSALS), needs


async def pair(v: Volunteers, caller: Caller, person_id: str, volunteer_id: str, role: int
               ) -> PairingRow:
    caller.require_role(*WORKER_ROLES)
    errors = _require_ids(person_id=person_id, volunteer_id=volunteer_id)
    errors.check(role in pairing.ROLES, "role", "community worker (1), volunteer (2) or "
                                                "neighbour (3)")
    errors.raise_if_any()
    async with v.db.unit_of_work(caller) as uow:
        person = await load_person(uow, person_id, lock=True)
        volunteer = await load_volunteer(uow, volunteer_id, lock=True)
        active = await pairing_store.active_for_person(uow, person.person_id)
        same = [p for p in active if p.volunteer_id == volunteer.volunteer_id]
        if same:
            raise AlreadyExists(f"the volunteer is already paired with the person as the "
                                f"{pairing.ROLE_NAMES[same[0].role]} (pairing "
                                f"{same[0].pairing_id})")
        refused = pairing.refusal(volunteer, role, person.jurisdiction_path,
                                  [p.role for p in active])
        if refused:
            raise FailedPrecondition(refused)
        made = await pairing_store.add(uow, person.person_id, volunteer.volunteer_id, role,
                                       person.jurisdiction_path)
        if made is None:
            raise AlreadyExists("a pairing like this one was just made")
        if role == pairing.VOLUNTEER and await pairing_store.change_load(
                uow, volunteer.volunteer_id, +1) is None:
            raise FailedPrecondition(f"volunteer {volunteer.volunteer_id} already visits "
                                     f"{volunteer.max_load} persons, the most they may")
        uow.record(ev.PairingMade(pairing_id=made.pairing_id, person_id=made.person_id,
                                  volunteer_id=made.volunteer_id,
                                  role=made.role),  # type: ignore[arg-type]
                   aggregate_type="pairing", aggregate_id=made.pairing_id, version=1,
                   jurisdiction_path=made.jurisdiction_path)
        return made


async def end(v: Volunteers, caller: Caller, pairing_id: str, reason: str) -> PairingRow:
    caller.require_role(*WORKER_ROLES)
    errors = _require_ids(pairing_id=pairing_id)
    errors.check(bool(reason.strip()), "reason", "is required: say why the pairing ends")
    errors.check(len(reason) <= MAX_REASON, "reason", f"at most {MAX_REASON} characters")
    errors.raise_if_any()
    async with v.db.unit_of_work(caller) as uow:
        seen = await _load_pairing(uow, pairing_id)
        await pairing_store.lock_volunteer_anywhere(uow, seen.volunteer_id)
        current = await _load_pairing(uow, pairing_id, lock=True)
        if not current.active:
            raise FailedPrecondition(f"pairing {pairing_id} already ended: "
                                     f"{current.end_reason}")
        return await close(uow, current, reason.strip())


async def close(uow: UnitOfWork, current: PairingRow, reason: str) -> PairingRow:
    """Ends an active pairing whose volunteer row the caller has locked: frees the load and
    announces it."""
    ended = await pairing_store.end(uow, current.pairing_id, reason)
    if ended.role == pairing.VOLUNTEER:
        await pairing_store.change_load(uow, ended.volunteer_id, -1)
    uow.record(ev.PairingEnded(pairing_id=ended.pairing_id, person_id=ended.person_id,
                               volunteer_id=ended.volunteer_id, reason=ended.end_reason),
               aggregate_type="pairing", aggregate_id=ended.pairing_id, version=2,
               jurisdiction_path=ended.jurisdiction_path)
    return ended


async def end_all_for(uow: UnitOfWork, person_id: str, reason: str) -> int:
    """Ends a person's active pairings (their record was archived); returns how many."""
    active = await pairing_store.active_for_person(uow, person_id)
    for p in active:
        await pairing_store.lock_volunteer_anywhere(uow, p.volunteer_id)
        await close(uow, p, reason)
    return len(active)


async def list_pairings(v: Volunteers, caller: Caller, person_id: str, volunteer_id: str
                        ) -> list[PairingRow]:
    """A person's pairings, or a volunteer's with the caller's persons; history included."""
    caller.require_role(*READ_ROLES)
    errors = Violations()
    if not person_id and not volunteer_id:
        errors.add("person_id", "give a person_id or a volunteer_id")
    elif person_id and volunteer_id:
        errors.add("volunteer_id", "give a person_id or a volunteer_id, not both")
    errors.raise_if_any()
    async with v.db.unit_of_work(caller) as uow:
        if person_id:
            person = await load_person(uow, person_id)
            return await pairing_store.listed(uow, person.person_id, None)
        volunteer = await load_volunteer(uow, require_uuid(volunteer_id, "volunteer_id"))
        return await pairing_store.listed(uow, None, volunteer.volunteer_id)
