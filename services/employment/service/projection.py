"""Handlers for the registry's events: the employment service's own view of persons. Each runs
in the consumer's unit of work with the inbox row, so an event is applied exactly once; versions
make an older event arriving late a no-op, and an archive stays as a tombstone at its version.
They apply snapshot events too (a rebuild)."""

from __future__ import annotations

from google.protobuf.message import Message

from cdsp.events.v1 import registry_pb2 as ev
from cdsp.events.v1.envelope_pb2 import Envelope
from employment.adapters import candidate_store
from runtime.consumer import Handler, applies_snapshots
from runtime.db import UnitOfWork


@applies_snapshots
async def on_person(envelope: Envelope, payload: Message, uow: UnitOfWork) -> None:
    assert isinstance(payload, ev.PersonRegistered | ev.PersonUpdated | ev.PersonReactivated)
    await candidate_store.upsert(uow, payload.person, envelope.aggregate_version)


@applies_snapshots
async def on_needs(envelope: Envelope, payload: Message, uow: UnitOfWork) -> None:
    assert isinstance(payload, ev.PersonNeedsChanged)
    await candidate_store.set_needs(uow, payload.person_id, list(payload.need_codes),
                                    envelope.aggregate_version)


@applies_snapshots
async def on_archived(envelope: Envelope, payload: Message, uow: UnitOfWork) -> None:
    assert isinstance(payload, ev.PersonArchived)
    if payload.HasField("person"):
        await candidate_store.upsert(uow, payload.person, envelope.aggregate_version)
    else:
        await candidate_store.archive(uow, payload.person_id, envelope.aggregate_version)


HANDLERS: dict[str, Handler] = {
    ev.PersonRegistered.DESCRIPTOR.full_name: on_person,
    ev.PersonUpdated.DESCRIPTOR.full_name: on_person,
    ev.PersonReactivated.DESCRIPTOR.full_name: on_person,
    ev.PersonNeedsChanged.DESCRIPTOR.full_name: on_needs,
    ev.PersonArchived.DESCRIPTOR.full_name: on_archived,
}
