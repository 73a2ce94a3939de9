"""Handlers for other services' events: the registry's keep the projection of persons (and
start the care schedule of whoever lives alone or is severely disabled); the aid service's
warnings raise the risk colour of the household's members. Each runs in the consumer's unit of
work with the inbox row, so an event is applied exactly once. An archive stays as a tombstone at
its version, so a late registration cannot bring the person back. A warning that names a person
the projection does not hold yet waits for them (runtime.pending)."""

from __future__ import annotations

from google.protobuf.message import Message

from cdsp.events.v1 import aid_pb2 as aev
from cdsp.events.v1 import registry_pb2 as rev
from cdsp.events.v1.envelope_pb2 import Envelope
from runtime.consumer import Handler, applies_snapshots
from runtime.db import UnitOfWork
from volunteer.adapters import person_store
from volunteer.config import Volunteers
from volunteer.domain import schedule
from volunteer.service.colours import raise_from_warning
from volunteer.service.pairings import end_all_for

ARCHIVED_REASON = "the person's record was archived"


def handlers(v: Volunteers) -> dict[str, Handler]:
    async def apply(envelope: Envelope, p: rev.PersonSnapshot, uow: UnitOfWork) -> None:
        colour = schedule.base_colour(p.living_alone, p.grade)
        hours = v.rules.hours_for(p.living_alone)[colour] if colour else 0
        done = await person_store.upsert(uow, p, envelope.aggregate_version, colour, hours)
        if done.newly_archived:
            # Moved out or died: the volunteers are free for someone else (history is kept).
            await end_all_for(uow, p.person_id, ARCHIVED_REASON)

    @applies_snapshots
    async def on_person(envelope: Envelope, payload: Message, uow: UnitOfWork) -> None:
        assert isinstance(payload, rev.PersonRegistered | rev.PersonUpdated
                          | rev.PersonReactivated)
        await apply(envelope, payload.person, uow)

    @applies_snapshots
    async def on_archived(envelope: Envelope, payload: Message, uow: UnitOfWork) -> None:
        assert isinstance(payload, rev.PersonArchived)
        if payload.HasField("person"):
            await apply(envelope, payload.person, uow)
        elif await person_store.archive(uow, payload.person_id, envelope.aggregate_version):
            await end_all_for(uow, payload.person_id, ARCHIVED_REASON)

    async def on_warning(envelope: Envelope, payload: Message, uow: UnitOfWork) -> None:
        assert isinstance(payload, aev.WarningRaised)
        await raise_from_warning(v, uow, list(payload.person_ids), payload.level,
                                 f"aid warning: {payload.reason}"[:500])

    return {
        rev.PersonRegistered.DESCRIPTOR.full_name: on_person,
        rev.PersonUpdated.DESCRIPTOR.full_name: on_person,
        rev.PersonReactivated.DESCRIPTOR.full_name: on_person,
        rev.PersonArchived.DESCRIPTOR.full_name: on_archived,
        aev.WarningRaised.DESCRIPTOR.full_name: on_warning,
    }
