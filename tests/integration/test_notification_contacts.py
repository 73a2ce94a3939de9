"""The notification service with contacts apart (issue 13), on the real broker, databases,
services and local endpoints: a warning reaches the resident's current phone and the guardian's;
a resident's notice waits for a contact that has not arrived yet, a worker's does not; notices
for workers and grid teams, and so the partners' webhooks that receive them, name the person by
a neutral label, never by name; and a lost contact is rebuilt from the registry's snapshot."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from google.protobuf.field_mask_pb2 import FieldMask

import devstack
from cdsp.aid.v1 import aid_pb2 as apb
from cdsp.events.v1 import aid_pb2 as aev
from cdsp.events.v1 import registry_pb2 as ev
from cdsp.notification.v1 import notification_pb2 as pb
from cdsp.registry.v1 import registry_pb2 as rpb
from runtime.timestamps import to_timestamp
from tests.aid_helpers import aid_admin, wait_projected
from tests.events import read_key
from tests.helpers import Tree
from tests.integration.test_snapshots import snapshot_cli
from tests.notification_helpers import (
    AidEvents,
    Endpoints,
    NotificationDb,
    contact_row,
    notify_admin,
    unique_name,
    unique_phone,
    wait_until,
)
from tests.registry_events import FakePerson, RegistryEvents

SENT, DELIVERED = 2, 3


def _webhook(tree: Tree, notification: str, endpoints: Endpoints, event_type: str) -> str:
    return notify_admin(tree, notification).RegisterWebhook(pb.RegisterWebhookRequest(
        url=endpoints.webhook.url, event_types=[event_type],
        jurisdiction_path=tree.grid_paths[0])).signing_secret


def _sms_to(endpoints: Endpoints, phone: str) -> list[str]:
    return [m.text for m in endpoints.sms.messages if m.to == f"+86{phone}"]


def test_a_red_warning_reaches_the_new_phone_and_the_guardian_and_no_name_a_partner(
        tree: Tree, stack: devstack.Stack, aid: str, notification: str,
        notify_db: NotificationDb, endpoints: Endpoints) -> None:
    secret = _webhook(tree, notification, endpoints, "cdsp.events.v1.WarningRaised")
    name, guardian_name = unique_name("红预"), unique_name("监护")
    old_phone, phone, guardian_phone = unique_phone(), unique_phone(), unique_phone()
    household = tree.household(income_fen=300_000)
    person = tree.register(household, name=name, phone=old_phone, guardian=rpb.Guardian(
        name=guardian_name, phone=guardian_phone, relation="父母"))
    tree.admin.UpdatePerson(rpb.UpdatePersonRequest(
        person=rpb.Person(person_id=person.person_id, phone=phone),
        update_mask=FieldMask(paths=["phone"]), expected_version=1))
    wait_until(lambda: (contact_row(notify_db, person.person_id) or ("",) * 7)[1] == phone,
               "the new phone in notification")
    wait_projected(stack.database_url("aid"), [person.person_id])

    aid_admin(tree, aid).ReportHardship(apb.ReportHardshipRequest(
        household_id=household.household_id, kind=apb.HARDSHIP_KIND_MEDICAL_SPENDING,
        amount_fen=200_000))
    event_id = wait_until(lambda: notify_db.rows(
        "SELECT DISTINCT source_event_id::text FROM notices WHERE recipient_id = %s "
        "AND source_event_type = 'cdsp.events.v1.WarningRaised'", [person.person_id]),
        "notices for the red warning")[0][0]
    settled = {(kind, channel): status for kind, _, channel, status, _, _
               in notify_db.settled(event_id)}
    assert settled.items() >= {("resident", "sms"): SENT, ("guardian", "sms"): SENT,
                               ("grid_team", "inbox"): DELIVERED,
                               ("grid_team", "webhook"): DELIVERED}.items()
    [resident_text], [guardian_text] = _sms_to(endpoints, phone), _sms_to(endpoints, guardian_phone)
    assert _sms_to(endpoints, old_phone) == []
    assert "您家" in resident_text and f"{name}家" in guardian_text  # a guardian reads the ward

    label = f"编号{person.person_id[:8]}服务对象的家庭"
    request = next(r for r in endpoints.webhook.received
                   if r.json and r.json.get("source_event_id") == event_id)
    assert request.signature_valid(secret) and request.json["recipient_kind"] == "grid_team"
    for private in (name, guardian_name, phone, old_phone, guardian_phone):
        assert private.encode() not in request.body, private
    assert label in request.json["body"]
    grid = notify_admin(tree, notification).ListInbox(pb.ListInboxRequest(
        recipient_id=tree.grid_paths[0])).notices
    assert [n.source_event_id for n in grid] == [event_id]
    assert label in grid[0].body and name not in grid[0].body + grid[0].title


def test_a_resident_s_notice_waits_for_the_contact(
        tree: Tree, stack: devstack.Stack, notification: str, notify_db: NotificationDb,
        endpoints: Endpoints, aid_events: AidEvents) -> None:
    """The record arrived on cdsp.registry.v1, its contact not yet (the contacts topic lags):
    the warning is held, not planned as undeliverable, and planned once the contact arrives."""
    person = FakePerson(tree.grid_paths[0])
    events = RegistryEvents(stack.kafka_bootstrap)
    try:
        events.publish(person.registered())
        notify_db.wait_recipients([person.person_id])
        warning = aid_events.publish(aev.WarningRaised(
            household_id=person.household_id, case_id=str(uuid.uuid4()),
            level=aev.WARNING_LEVEL_RED, person_ids=[person.person_id]), tree.grid_paths[0],
            str(uuid.uuid4()))
        wait_until(lambda: notify_db.rows(
            "SELECT waiting_for FROM pending_events WHERE consumer = 'notification-notices' "
            "AND event_id = %s", [warning]) == [([f"person_contact:{person.person_id}"],)],
            "the warning waits for the contact")
        assert notify_db.notices(warning) == []
        phone, guardian_phone = unique_phone(), unique_phone()
        events.publish(person.contact(phone=phone, guardian_name="监护人",
                                      guardian_phone=guardian_phone))
    finally:
        events.close()
    wait_until(lambda: len(notify_db.notices(warning)) == 3, "planned once the contact came")
    assert [(kind, reason) for kind, _, reason, _, _ in notify_db.notices(warning)] == [
        ("grid_team", ""), ("guardian", ""), ("resident", "")]
    notify_db.settled(warning)
    assert len(_sms_to(endpoints, phone)) == len(_sms_to(endpoints, guardian_phone)) == 1
    assert notify_db.rows("SELECT 1 FROM pending_events WHERE event_id = %s", [warning]) == []


def test_workers_are_told_at_once_and_by_a_label(
        tree: Tree, stack: devstack.Stack, notification: str, notify_db: NotificationDb,
        endpoints: Endpoints, aid_events: AidEvents) -> None:
    """A liaison's and a grid team's notice needs no contact: it never names the person."""
    secret = _webhook(tree, notification, endpoints, "cdsp.events.v1.CaseActionBreached")
    person = FakePerson(tree.grid_paths[0])
    events = RegistryEvents(stack.kafka_bootstrap)
    try:
        events.publish(person.registered())  # no contact, ever
    finally:
        events.close()
    notify_db.wait_recipients([person.person_id])
    case_id = str(uuid.uuid4())
    breach = aid_events.publish(aev.CaseActionBreached(
        case_id=case_id, household_id=person.household_id, action="charity_relief",
        due_at=to_timestamp(datetime(2026, 5, 3, 8, tzinfo=UTC)),
        jurisdiction_path=tree.grid_paths[0]), tree.grid_paths[0], case_id)
    settled = notify_db.settled(breach, count=4)
    assert {(kind, channel) for kind, _, channel, _, _, _ in settled} == {
        ("grid_team", "inbox"), ("grid_team", "webhook"), ("liaison", "inbox"),
        ("liaison", "webhook")}
    requests = [r for r in endpoints.webhook.received
                if r.json and r.json.get("source_event_id") == breach]
    assert sorted(r.json["recipient_kind"] for r in requests) == ["grid_team", "liaison"]
    for request in requests:
        assert request.signature_valid(secret)
        assert request.json["body"].startswith(
            f"编号{person.person_id[:8]}服务对象的家庭的帮扶事项")


def test_lost_contacts_are_rebuilt_from_the_registry_s_snapshot(
        tree: Tree, stack: devstack.Stack, notification: str, notify_db: NotificationDb) -> None:
    name, phone = unique_name("重建"), unique_phone()
    kept = tree.register(name=name, phone=phone)
    gone = tree.register(phone=unique_phone())
    tree.admin.ArchivePerson(rpb.ArchivePersonRequest(
        person_id=gone.person_id, reason=ev.ARCHIVE_REASON_DECEASED, expected_version=1))
    expected = {kept.person_id: (name, phone, 2, "", "", False, 1),
                gone.person_id: ("", "", 0, "", "", True, 2)}
    wait_until(lambda: {i: contact_row(notify_db, i) for i in expected} == expected,
               "both contacts in notification")
    notify_db.rows("DELETE FROM recipient_contacts WHERE person_id = ANY(%s::uuid[]) "
                   "RETURNING 1", [list(expected)])

    done = snapshot_cli(stack, "registry", "--only", "person_contact")
    assert done.returncode == 0, done.stderr
    counted = dict(line.split("\t") for line in done.stdout.splitlines())
    assert set(counted) == {"person_contact"} and int(counted["person_contact"]) >= 2
    wait_until(lambda: {i: contact_row(notify_db, i) for i in expected} == expected,
               "the contacts rebuilt from the snapshot", timeout=60)
    snapshot = [e for e in read_key(stack.kafka_bootstrap, "cdsp.registry.contacts.v1",
                                     kept.person_id, 2)
                if e.snapshot]
    assert [(e.aggregate_type, e.aggregate_version) for e in snapshot] == [("person_contact", 1)]
