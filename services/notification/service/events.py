"""The notification service's event handlers: the registry's person events keep the recipients
projection, and every event a rule names is turned into notices (in the consumer's transaction,
with its inbox row: a redelivered event is a no-op, and the notices' unique key makes even a
replay from another group send nothing twice)."""

from __future__ import annotations

from google.protobuf.message import Message

from cdsp.events.v1 import registry_pb2 as rev
from cdsp.events.v1.envelope_pb2 import Envelope
from notification.adapters import recipient_store
from notification.config import Notifier
from notification.service.planning import plan_event
from runtime.consumer import BatchHandler, Handler
from runtime.db import UnitOfWork

REGISTRY_TOPIC = "cdsp.registry.v1"
# The topics whose events may concern people.
SOURCE_TOPICS = ("cdsp.aid.v1", "cdsp.employment.v1", "cdsp.volunteer.v1")


async def project(envelope: Envelope, payload: Message, uow: UnitOfWork) -> None:
    if isinstance(payload, rev.PersonRegistered | rev.PersonUpdated):
        await recipient_store.upsert(uow, payload.person, envelope.aggregate_version)
    elif isinstance(payload, rev.PersonArchived):
        await recipient_store.archive(uow, payload.person_id, envelope.aggregate_version)


PROJECTED = (rev.PersonRegistered, rev.PersonUpdated, rev.PersonArchived)


def handlers(n: Notifier) -> tuple[dict[str, Handler], dict[str, BatchHandler]]:
    """One handler per event type that is projected or that a rule names, and the same as batch
    handlers: a whole poll of events is planned in one transaction (a burst of warnings, or a
    registry-wide update, costs one commit per poll instead of one per event)."""
    async def plan(envelope: Envelope, payload: Message, uow: UnitOfWork) -> None:
        await plan_event(n, uow, envelope, payload)

    async def project_and_plan(envelope: Envelope, payload: Message, uow: UnitOfWork) -> None:
        await project(envelope, payload, uow)
        await plan_event(n, uow, envelope, payload)

    table: dict[str, Handler] = {rule.event_type: plan for rule in n.rules.rules}
    for message in PROJECTED:
        table[message.DESCRIPTOR.full_name] = project_and_plan

    def batch(single: Handler) -> BatchHandler:
        async def many(items: list[tuple[Envelope, Message]], uow: UnitOfWork) -> None:
            for envelope, payload in items:
                await single(envelope, payload, uow)
        return many

    return table, {event_type: batch(single) for event_type, single in table.items()}
