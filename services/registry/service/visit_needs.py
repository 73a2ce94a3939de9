"""Needs found at volunteer visits: the volunteer service's VisitLogged carries need codes to
follow up, and the registry adds those the person does not have yet to their record, as
UpdatePerson would (the same rules, a new version, PersonUpdated and PersonNeedsChanged).

It runs in the consumer's unit of work with the inbox row, so an event is applied once; a need
the person already has is left as it is, so a visit that repeats one changes nothing. A person
the registry does not know, or whose record is archived, is skipped with a log line that names
the visit only.
"""

from __future__ import annotations

import logging

from google.protobuf.message import Message

from cdsp.events.v1 import volunteer_pb2 as vev
from cdsp.events.v1.envelope_pb2 import Envelope
from registry.adapters import person_store
from registry.config import Registry
from registry.domain import events
from registry.domain.person import ACTIVE, NEED_CODE, Need, Person
from runtime.consumer import Handler
from runtime.db import UnitOfWork
from runtime.errors import InvalidArgument
from runtime.inputs import is_uuid

log = logging.getLogger("cdsp.registry.visit_needs")
DESCRIPTION = "found at a volunteer visit"


def missing_needs(current: list[str], found: list[str]) -> list[str]:
    """The valid need codes of `found` the person does not have yet, in order, once each."""
    have = set(current)
    return [code for code in dict.fromkeys(found)
            if NEED_CODE.fullmatch(code) and code not in have]


def _record(uow: UnitOfWork, person: Person, payload: Message) -> None:
    uow.record(payload, aggregate_type="person", aggregate_id=person.person_id,
               version=person.version, jurisdiction_path=person.jurisdiction_path)


async def add_visit_needs(reg: Registry, uow: UnitOfWork, person_id: str, codes: list[str],
                          visit_id: str) -> list[str]:
    """Adds the needs the person lacks; returns the codes added (none when nothing changed)."""
    if not codes:
        return []
    view = await person_store.get_person(uow, person_id, lock=True, history=False) \
        if is_uuid(person_id) else None
    if view is None or view.person.status != ACTIVE:
        log.info("visit %s: the person is %s; its follow-up needs are not recorded", visit_id,
                 "unknown" if view is None else "archived")
        return []
    current = view.person
    added = missing_needs(current.need_codes, codes)
    if not added:
        return []
    needs = [*current.needs, *(Need(code, DESCRIPTION) for code in added)]
    try:
        updated, changed = current.updated({"needs": needs}, reg.today(), reg.priority_groups)
    except InvalidArgument as exc:   # a record that no longer passes the rules as it stands
        log.warning("visit %s: the person's record fails %s; its follow-up needs are not "
                    "recorded", visit_id, ", ".join(v.field for v in exc.violations))
        return []
    updated.version += 1
    await person_store.update_person(uow, updated)
    _record(uow, updated, events.person_updated(updated, view.household_income_fen, changed))
    _record(uow, updated, events.needs_changed(current, updated))
    return added


def visit_need_handlers(reg: Registry) -> dict[str, Handler]:
    """The handler for the consumer of cdsp.volunteer.v1 (which applies a poll's events in one
    transaction: thousands of VisitMissed after a scan cost one inbox insert per poll)."""
    async def on_visit(envelope: Envelope, payload: Message, uow: UnitOfWork) -> None:
        assert isinstance(payload, vev.VisitLogged)
        await add_visit_needs(reg, uow, payload.person_id, list(payload.follow_up_needs),
                              payload.visit_id)

    return {vev.VisitLogged.DESCRIPTOR.full_name: on_visit}
