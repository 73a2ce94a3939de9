"""Privacy in flight (issue 13): a resident's name, phone and guardian never travel on the
registry's general topic (read by every service and, soon, partners), only as PersonContact on
the restricted topic cdsp.registry.contacts.v1 at the person's version, erased by an archive.
The notification service keeps them in its recipients' contacts (a consumer group of its own,
version-guarded), still reaches the resident's and the guardian's phones, and nobody else keeps
a copy; all on the real broker, databases and services."""

from __future__ import annotations

from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.unknown_fields import UnknownFieldSet

import devstack
from cdsp.common.v1 import common_pb2 as common
from cdsp.events.v1 import registry_pb2 as ev
from cdsp.events.v1.envelope_pb2 import Envelope
from cdsp.registry.v1 import registry_pb2 as rpb
from runtime.events import unpack_payload
from tests.events import TopicReader, read_key
from tests.helpers import Tree
from tests.notification_helpers import (
    NotificationDb,
    ServiceDb,
    contact_row,
    unique_name,
    unique_phone,
    wait_until,
)

CONTACTS = "cdsp.registry.contacts.v1"
PERSON_EVENTS = (ev.PersonRegistered, ev.PersonUpdated, ev.PersonReactivated, ev.PersonArchived)


def general_topic(stack: devstack.Stack, until: str) -> list[bytes]:
    """Every record of cdsp.registry.v1, once the event `until` is among them."""
    reader = TopicReader(stack.kafka_bootstrap, "cdsp.registry.v1")
    try:
        reader.wait_for(lambda found: any(e.event_id == until for e in found))
        return [value for _, value in reader.records]
    finally:
        reader.close()


def test_names_phones_and_guardians_travel_on_the_contacts_topic_only(
        tree: Tree, stack: devstack.Stack, notification: str, notify_db: NotificationDb) -> None:
    name, guardian_name = unique_name("隐私"), unique_name("监护")
    phone, guardian_phone, new_phone = unique_phone(), unique_phone(), unique_phone()
    p = tree.register(name=name, phone=phone,
                      guardian=rpb.Guardian(name=guardian_name, phone=guardian_phone,
                                            relation="父母"))
    admin = tree.admin
    admin.UpdatePerson(rpb.UpdatePersonRequest(  # v2: no contact field, no contact event
        person=rpb.Person(person_id=p.person_id, grade=4), update_mask=FieldMask(paths=["grade"]),
        expected_version=1))
    admin.UpdatePerson(rpb.UpdatePersonRequest(  # v3: a new phone
        person=rpb.Person(person_id=p.person_id, phone=new_phone),
        update_mask=FieldMask(paths=["phone"]), expected_version=2))
    admin.ArchivePerson(rpb.ArchivePersonRequest(  # v4: erased
        person_id=p.person_id, reason=ev.ARCHIVE_REASON_MOVED_OUT, expected_version=3))
    admin.ReactivatePerson(rpb.ReactivatePersonRequest(  # v5: back, reachable again
        person_id=p.person_id, household_id=tree.household().household_id, expected_version=4))

    contacts = read_key(stack.kafka_bootstrap, CONTACTS, p.person_id, 4)
    assert [(e.event_type, e.aggregate_type, e.aggregate_version) for e in contacts] == [
        ("cdsp.events.v1.PersonContact", "person_contact", v) for v in (1, 3, 4, 5)]
    payloads = [unpack_payload(e) for e in contacts]
    assert all(isinstance(c, ev.PersonContact) for c in payloads)
    assert [(c.name, c.phone, c.guardian_name, c.guardian_phone, c.erased)  # type: ignore[attr-defined]
            for c in payloads] == [
        (name, phone, guardian_name, guardian_phone, False),
        (name, new_phone, guardian_name, guardian_phone, False),
        ("", "", "", "", True),
        (name, new_phone, guardian_name, guardian_phone, False)]
    assert not any(p.resident_id.encode() in e.SerializeToString() for e in contacts)

    person_events = read_key(stack.kafka_bootstrap, "cdsp.registry.v1", p.person_id, 5)
    reactivated = person_events[-1]
    assert (reactivated.event_type, reactivated.aggregate_version) == (
        "cdsp.events.v1.PersonReactivated", 5)
    records = general_topic(stack, reactivated.event_id)
    secrets = [s.encode() for s in (name, guardian_name, phone, new_phone, guardian_phone)]
    assert not [r for r in records if any(s in r for s in secrets)]
    # No person event on the topic carries a field this registry does not know (the reserved
    # name, phone, preferred_channel and guardian fields of an older producer).
    snapshots = [payload.person for r in records
                 if isinstance(payload := unpack_payload(Envelope.FromString(r)), PERSON_EVENTS)
                 and payload.HasField("person")]
    assert len(snapshots) >= 5 and all(len(UnknownFieldSet(s)) == 0 for s in snapshots)

    wait_until(lambda: (contact_row(notify_db, p.person_id) or (0,) * 7)[6] == 5,
               "notification holds the contact at version 5")
    assert contact_row(notify_db, p.person_id) == (
        name, new_phone, common.CONTACT_CHANNEL_SMS, guardian_name, guardian_phone, False, 5)


def test_an_archive_erases_the_contact_and_nobody_else_keeps_one(
        tree: Tree, stack: devstack.Stack, aid: str, employment: str, volunteer: str,
        notification: str, notify_db: NotificationDb) -> None:
    name, phone = unique_name("注销"), unique_phone()
    p = tree.register(name=name, phone=phone,
                      guardian=rpb.Guardian(name=unique_name("监护"), phone=unique_phone(),
                                            relation="子女"))
    wait_until(lambda: contact_row(notify_db, p.person_id), "the contact in notification")
    tree.admin.ArchivePerson(rpb.ArchivePersonRequest(
        person_id=p.person_id, reason=ev.ARCHIVE_REASON_DECEASED, expected_version=1))
    wait_until(lambda: contact_row(notify_db, p.person_id) == ("", "", 0, "", "", True, 2),
               "the contact erased in notification (a tombstone at the archive's version)")
    assert notify_db.rows("SELECT archived FROM recipients WHERE person_id = %s",
                          [p.person_id]) == [(True,)]

    # The other services' projections hold no name, phone or guardian of anyone.
    personal = {"name", "display_name", "phone", "guardian_name", "guardian_phone"}
    for service, table in (("aid", "persons"), ("employment", "candidates"),
                           ("volunteer", "persons"), ("notification", "recipients")):
        columns = {r[0] for r in ServiceDb(stack.database_url(service)).rows(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
            [table])}
        assert columns and not columns & personal, (service, columns & personal)
