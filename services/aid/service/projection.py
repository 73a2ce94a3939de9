"""Handlers for the registry's events: keep the aid service's own view of persons, households
and jurisdictions (with the minimum living standard that caps relief).

Each runs inside the consumer's unit of work (with the inbox row), so an event is applied exactly
once; the version check makes an older event arriving late a no-op. An archive applies the
record as archived (a tombstone at the archive's version), so a late or replayed registration
cannot bring an archived person back. All of them apply snapshot events too (a rebuild).
"""

from __future__ import annotations

from google.protobuf.message import Message

from aid.adapters import jurisdiction_store, projection_store
from aid.config import AidRules
from aid.service import cases
from cdsp.events.v1 import registry_pb2 as ev
from cdsp.events.v1.envelope_pb2 import Envelope
from runtime.consumer import BatchHandler, Handler, applies_snapshots
from runtime.db import UnitOfWork


@applies_snapshots
async def on_person(envelope: Envelope, payload: Message, uow: UnitOfWork) -> None:
    assert isinstance(payload, ev.PersonRegistered | ev.PersonUpdated | ev.PersonReactivated)
    await projection_store.upsert_person(uow, payload.person, envelope.aggregate_version)


@applies_snapshots
async def on_person_archived(envelope: Envelope, payload: Message, uow: UnitOfWork) -> None:
    assert isinstance(payload, ev.PersonArchived)
    if payload.HasField("person"):
        await projection_store.upsert_person(uow, payload.person, envelope.aggregate_version)
    else:
        await projection_store.archive_person(uow, payload.person_id, envelope.aggregate_version)


@applies_snapshots
async def on_jurisdiction(envelope: Envelope, payload: Message, uow: UnitOfWork) -> None:
    assert isinstance(payload, ev.JurisdictionChanged)
    await jurisdiction_store.upsert_jurisdiction(uow, payload, envelope.aggregate_version)


HOUSEHOLD_CHANGED = ev.HouseholdChanged.DESCRIPTOR.full_name


def projection_handlers(rules: AidRules) -> tuple[dict[str, Handler], dict[str, BatchHandler]]:
    """The registry-event handlers; household changes also in batches (a city-wide income
    update is hundreds of thousands of events)."""
    @applies_snapshots
    async def on_households(items: list[tuple[Envelope, Message]], uow: UnitOfWork) -> None:
        changes = [(p, e.aggregate_version) for e, p in items
                   if isinstance(p, ev.HouseholdChanged)]
        changed = await projection_store.upsert_households(uow, changes)
        # A snapshot rebuilds the view; only a real change of income re-evaluates warnings.
        live = {p.household_id for e, p in items
                if isinstance(p, ev.HouseholdChanged) and not e.snapshot}
        await cases.reevaluate_incomes(uow, [h for h in changed if h.household_id in live],
                                       rules)

    @applies_snapshots
    async def on_household(envelope: Envelope, payload: Message, uow: UnitOfWork) -> None:
        await on_households([(envelope, payload)], uow)

    return {
        HOUSEHOLD_CHANGED: on_household,
        ev.PersonRegistered.DESCRIPTOR.full_name: on_person,
        ev.PersonUpdated.DESCRIPTOR.full_name: on_person,
        ev.PersonReactivated.DESCRIPTOR.full_name: on_person,
        ev.PersonArchived.DESCRIPTOR.full_name: on_person_archived,
        ev.JurisdictionChanged.DESCRIPTOR.full_name: on_jurisdiction,
    }, {HOUSEHOLD_CHANGED: on_households}
