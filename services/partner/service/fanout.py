"""The consumers' handlers: each internal event the gateway translates becomes, in the
consumer's own unit of work (with its inbox row: exactly once), one delivery row per active or
paused subscriber of its type whose subtree holds the event's jurisdiction: redacted to the
subscriber's fields, its ids replaced by the subscriber's pseudonyms, numbered per subject.
Snapshot events never reach these handlers (they are not changes). The registry's jurisdictions
keep the projection of minimum living standards the income assessment compares with.
"""

from __future__ import annotations

import uuid

from google.protobuf.message import Message

from cdsp.events.v1 import registry_pb2 as rev
from cdsp.events.v1.envelope_pb2 import Envelope
from cdsp.partner.v1 import events_pb2 as pev
from partner.adapters import delivery_store, standards_store, subscriber_store
from partner.config import Partners
from partner.domain import catalogue
from partner.domain.pseudonym import pseudonym
from partner.domain.translate import TRANSLATED, Translated, translate
from partner.service.keys import pseudonym_key
from runtime.consumer import Handler, applies_snapshots
from runtime.db import UnitOfWork

NAMESPACE = uuid.UUID("6f1f8f0e-5d0c-4c55-9a57-7f3c0c1e9a01")


def event_id(subscriber_id: str, internal_event_id: str) -> str:
    """The PartnerEvent's id: the same for one subscriber and internal event, whoever computes
    it (a re-processed event cannot make a second id), unrelated between subscribers."""
    return str(uuid.uuid5(NAMESPACE, f"{subscriber_id}/{internal_event_id}"))


def for_subscriber(t: Translated, envelope: Envelope, row: subscriber_store.SubscriberRow,
                   key: bytes, sequence: int) -> pev.PartnerEvent:
    full_name = t.payload.DESCRIPTOR.full_name
    payload = catalogue.redact(t.payload, catalogue.allowed_fields(row.fields, full_name))
    catalogue.pseudonymise(payload, lambda internal: pseudonym(key, internal))
    event = pev.PartnerEvent(id=event_id(row.subscriber_id, envelope.event_id), type=full_name,
                             subject=pseudonym(key, t.subject_id), sequence=sequence,
                             jurisdiction=envelope.jurisdiction_path)
    event.time.CopyFrom(t.time)
    event.data.Pack(payload)
    return event


async def fan_out(p: Partners, uow: UnitOfWork, envelope: Envelope, t: Translated) -> int:
    full_name = t.payload.DESCRIPTOR.full_name
    rows = await subscriber_store.receivers(uow, full_name, envelope.jurisdiction_path)
    for row in rows:
        key = pseudonym_key(p.keys, row.subscriber_id, row.pseudonym_key_sealed)
        subject = pseudonym(key, t.subject_id)
        sequence = await delivery_store.next_sequence(uow, row.subscriber_id, subject)
        event = for_subscriber(t, envelope, row, key, sequence)
        await delivery_store.insert(uow, str(uuid.uuid4()), row.subscriber_id, event.id,
                                    full_name, subject, sequence, event.SerializeToString())
    if rows:
        await delivery_store.notify(uow)
    return len(rows)


def handlers(p: Partners) -> dict[str, Handler]:
    async def on_event(envelope: Envelope, payload: Message, uow: UnitOfWork) -> None:
        standard = 0
        if isinstance(payload, rev.HouseholdChanged):
            standard = await standards_store.nearest(uow, payload.jurisdiction_path
                                                     or envelope.jurisdiction_path)
        translated = translate(envelope, payload, standard)
        if translated is not None:
            await fan_out(p, uow, envelope, translated)

    @applies_snapshots
    async def on_jurisdiction(envelope: Envelope, payload: Message, uow: UnitOfWork) -> None:
        assert isinstance(payload, rev.JurisdictionChanged)
        await standards_store.put(uow, payload.path, payload.minimum_living_standard_fen)

    table: dict[str, Handler] = {name: on_event for name in TRANSLATED}
    table[rev.JurisdictionChanged.DESCRIPTOR.full_name] = on_jurisdiction
    return table
