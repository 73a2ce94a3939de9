"""The notification service's event handlers: the registry's person events keep the recipients
projection, its PersonContact events (on the restricted contacts topic, a consumer group of
their own) keep the recipients' contacts, and every event a rule names is turned into notices
(in the consumer's transaction, with its inbox row: a redelivered event is a no-op, and the
notices' unique key makes even a replay from another group send nothing twice). The consumer
applies a whole poll in one transaction, in order. Snapshot events (a rebuild) only rebuild the
projection: they never make notices.
"""

from __future__ import annotations

from google.protobuf.message import Message

from cdsp.events.v1 import registry_pb2 as rev
from cdsp.events.v1.envelope_pb2 import Envelope
from notification.adapters import recipient_store
from notification.config import Notifier
from notification.service.planning import plan_event
from runtime import pending
from runtime.consumer import Handler, applies_snapshots
from runtime.db import UnitOfWork

REGISTRY_TOPIC = "cdsp.registry.v1"
# Names, phones and guardians: only this service reads this topic (the chart's Kafka ACLs).
CONTACTS_TOPIC = "cdsp.registry.contacts.v1"
# The topics whose events may concern people.
SOURCE_TOPICS = ("cdsp.aid.v1", "cdsp.employment.v1", "cdsp.volunteer.v1")


async def project(envelope: Envelope, payload: Message, uow: UnitOfWork) -> None:
    snapshot: rev.PersonSnapshot | None = None
    if isinstance(payload, rev.PersonRegistered | rev.PersonUpdated | rev.PersonReactivated):
        snapshot = payload.person
    elif isinstance(payload, rev.PersonArchived):
        if not payload.HasField("person"):  # published before archives carried a snapshot
            await recipient_store.archive(uow, payload.person_id, envelope.aggregate_version)
            return
        snapshot = payload.person
    if snapshot is not None and await recipient_store.upsert(uow, snapshot,
                                                             envelope.aggregate_version):
        # Events waiting for this person wake by the consumer's own release; those waiting for
        # their household (an event naming only the household) wake here.
        await pending.release(uow, [f"household:{snapshot.household_id}"])


@applies_snapshots
async def project_contact(envelope: Envelope, payload: Message, uow: UnitOfWork) -> None:
    """Events waiting for this contact (`person_contact:<id>`) wake by the consumer's release."""
    assert isinstance(payload, rev.PersonContact)
    await recipient_store.upsert_contact(uow, payload, envelope.aggregate_version,
                                         envelope.jurisdiction_path)


PROJECTED = (rev.PersonRegistered, rev.PersonUpdated, rev.PersonReactivated, rev.PersonArchived)


def handlers(n: Notifier) -> dict[str, Handler]:
    """One handler per event type that is projected or that a rule names."""
    async def plan(envelope: Envelope, payload: Message, uow: UnitOfWork) -> None:
        await plan_event(n, uow, envelope, payload)

    @applies_snapshots
    async def project_and_plan(envelope: Envelope, payload: Message, uow: UnitOfWork) -> None:
        await project(envelope, payload, uow)
        if not envelope.snapshot:
            await plan_event(n, uow, envelope, payload)

    table: dict[str, Handler] = {rule.event_type: plan for rule in n.rules.rules}
    for message in PROJECTED:
        table[message.DESCRIPTOR.full_name] = project_and_plan
    table[rev.PersonContact.DESCRIPTOR.full_name] = project_contact
    return table
