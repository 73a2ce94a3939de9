"""The registry's person events built in a test, to deliver them to consumers in any order (as
a replay, a late consumer or a rebuild can): published on the real broker, or handed to a
consumer's poll directly."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field

from google.protobuf.message import Message
from kafka import KafkaProducer

from cdsp.common.v1 import common_pb2 as common
from cdsp.events.v1 import registry_pb2 as ev
from cdsp.events.v1.envelope_pb2 import Envelope
from runtime.consumer_retry import StoredRecord
from runtime.events import build_envelope

TOPIC = "cdsp.registry.v1"
CONTACTS_TOPIC = "cdsp.registry.contacts.v1"
_offsets = itertools.count(10_000_000)


@dataclass
class FakePerson:
    """A person the registry never held: ids of their own, filed under `path`."""

    path: str
    person_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    household_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def snapshot(self, archived: bool = False, **fields: object) -> ev.PersonSnapshot:
        values: dict[str, object] = {
            "person_id": self.person_id, "household_id": self.household_id,
            "jurisdiction_path": self.path, "sex": common.SEX_FEMALE,
            "birth_date": common.Date(year=1980, month=5, day=1),
            "category": common.DISABILITY_CATEGORY_PHYSICAL, "grade": 2, "certified": True,
            "household_monthly_income_fen": 300_000, "liaison_id": "gw-order",
            "living_alone": True, "archived": archived}
        values.update(fields)
        return ev.PersonSnapshot(**values)  # type: ignore[arg-type]

    def registered(self, **fields: object) -> Envelope:
        return self.envelope(ev.PersonRegistered(person=self.snapshot(**fields)), 1)

    def updated(self, version: int = 2, **fields: object) -> Envelope:
        return self.envelope(ev.PersonUpdated(person=self.snapshot(**fields),
                                              changed_fields=["grade"]), version)

    def archived(self, version: int = 3) -> Envelope:
        return self.envelope(ev.PersonArchived(person_id=self.person_id,
                                               reason=ev.ARCHIVE_REASON_DECEASED,
                                               person=self.snapshot(archived=True)), version)

    def contact(self, version: int = 1, **fields: object) -> Envelope:
        """The person's PersonContact, as the registry publishes it on the contacts topic."""
        values: dict[str, object] = {
            "person_id": self.person_id, "name": "测试人", "phone": "13912345678",
            "preferred_channel": common.CONTACT_CHANNEL_SMS}
        values.update(fields)
        return self.envelope(ev.PersonContact(**values), version,  # type: ignore[arg-type]
                             aggregate_type="person_contact")

    def envelope(self, payload: Message, version: int, aggregate_type: str = "person"
                 ) -> Envelope:
        return build_envelope(payload, aggregate_type=aggregate_type, aggregate_id=self.person_id,
                              version=version, jurisdiction_path=self.path, producer="registry",
                              actor="tester", request_id="test")


def record(envelope: Envelope, topic: str = TOPIC, partition: int = 0) -> StoredRecord:
    """A record as a consumer's poll holds it."""
    return StoredRecord(topic, partition, next(_offsets), envelope.aggregate_id.encode(),
                        envelope.SerializeToString())


def topic_of(envelope: Envelope) -> str:
    """Where the registry publishes this envelope: contacts on their restricted topic."""
    return CONTACTS_TOPIC if envelope.aggregate_type == "person_contact" else TOPIC


class RegistryEvents:
    """Publishes envelopes on cdsp.registry.v1 (contacts on cdsp.registry.contacts.v1) as the
    registry's outbox would (keyed by the aggregate, so one person's events share a partition,
    in the order given)."""

    def __init__(self, bootstrap: str) -> None:
        self.producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")

    def publish(self, *envelopes: Envelope) -> None:
        for envelope in envelopes:
            self.producer.send(topic_of(envelope), key=envelope.aggregate_id.encode(),
                               value=envelope.SerializeToString())
        self.producer.flush(10)

    def close(self) -> None:
        self.producer.close()
