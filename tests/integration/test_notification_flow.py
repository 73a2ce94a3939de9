"""The notification service on the real PostgreSQL and broker, with real local servers for the
outside world: which channels each disability gets, a red warning from the aid service reaching
the guardian and the grid team, retries, duplicates, restarts and undeliverable notices."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import psycopg

import devstack
from cdsp.aid.v1 import aid_pb2 as apb
from cdsp.common.v1 import common_pb2 as common
from cdsp.events.v1 import aid_pb2 as ev
from cdsp.notification.v1 import notification_pb2 as pb
from cdsp.registry.v1 import registry_pb2 as rpb
from registry.config import Registry
from registry.domain.person import DEFAULT_PRIORITY_GROUPS
from registry.domain.resident_id import born_by
from registry.service.reminders import scan_certification_due, scan_verifications
from runtime.auth import Caller
from runtime.db import Database
from tests.aid_helpers import aid_admin, wait_projected
from tests.helpers import Tree, age_record, baby
from tests.notification_helpers import (
    Endpoints,
    NotificationDb,
    notify_admin,
    unique_phone,
    wait_until,
)

SMS_DELIVERED = 2  # sms/voice/e-mail: accepted by the provider or relay = sent
INBOX_DELIVERED = 3


def test_a_red_warning_from_aid_reaches_the_guardian_the_grid_team_and_the_resident(
        tree: Tree, aid: str, notification: str, notify_db: NotificationDb,
        endpoints: Endpoints, stack: devstack.Stack) -> None:
    api = notify_admin(tree, notification)
    hook = api.RegisterWebhook(pb.RegisterWebhookRequest(
        url=endpoints.webhook.url, event_types=["cdsp.events.v1.WarningRaised"],
        jurisdiction_path=tree.grid_paths[0]))
    household = tree.household(income_fen=300_000)
    phone, guardian_phone = unique_phone(), unique_phone()
    person = tree.register(household, category=common.DISABILITY_CATEGORY_INTELLECTUAL,
                           phone=phone, guardian=rpb.Guardian(name="李监护", phone=guardian_phone,
                                                              relation="父母"),
                           preferred_channel=common.CONTACT_CHANNEL_SMS)
    wait_projected(stack.database_url("aid"), [person.person_id])
    notify_db.wait_recipients([person.person_id])

    red = aid_admin(tree, aid).ReportHardship(apb.ReportHardshipRequest(
        household_id=household.household_id, kind=apb.HARDSHIP_KIND_MEDICAL_SPENDING,
        amount_fen=200_000))
    assert red.level == ev.WARNING_LEVEL_RED

    event_id = wait_until(lambda: notify_db.rows(
        "SELECT DISTINCT source_event_id::text FROM notices WHERE recipient_id = %s "
        "AND source_event_type = 'cdsp.events.v1.WarningRaised'", [person.person_id]),
        "notices for the red warning")[0][0]
    settled = notify_db.settled(event_id)
    by_kind = {(kind, channel): (status, attempts) for kind, _, channel, status, attempts, _
               in settled}
    assert by_kind[("guardian", "sms")] == (SMS_DELIVERED, 1)
    assert by_kind[("resident", "sms")] == (SMS_DELIVERED, 1)
    assert by_kind[("grid_team", "inbox")] == (INBOX_DELIVERED, 1)
    assert by_kind[("grid_team", "webhook")] == (INBOX_DELIVERED, 1)

    texts = {m.to: m for m in endpoints.sms.messages if m.to in (f"+86{phone}",
                                                                  f"+86{guardian_phone}")}
    assert set(texts) == {f"+86{phone}", f"+86{guardian_phone}"}
    resident_text, guardian_text = texts[f"+86{phone}"], texts[f"+86{guardian_phone}"]
    assert resident_text.priority == guardian_text.priority == "urgent"
    assert "红色预警" in resident_text.text and "您家" in resident_text.text
    # Intellectual disability: the resident gets the easy-read text, the guardian the full one.
    assert "社区会帮您" in resident_text.text
    assert "王小明家" in guardian_text.text and "社区会帮您" not in guardian_text.text

    grid_inbox = api.ListInbox(pb.ListInboxRequest(recipient_id=tree.grid_paths[0]))
    assert [n.source_event_id for n in grid_inbox.notices] == [event_id]
    assert grid_inbox.notices[0].urgency == pb.NOTICE_URGENCY_URGENT

    request = next(r for r in endpoints.webhook.received
                   if r.json and r.json.get("source_event_id") == event_id)
    assert request.signature_valid(hook.signing_secret)
    assert request.json["recipient_kind"] == "grid_team"
    assert request.json["event_type"] == "cdsp.events.v1.WarningRaised"


async def test_the_registry_s_reminders_reach_the_liaison_and_the_grid_team(
        tree: Tree, notification: str, notify_db: NotificationDb, stack: devstack.Stack,
        registry_db: psycopg.Connection) -> None:
    """VerificationDue, VerificationOverdue and CertificationDue: events the notification
    service does not project but plans, in its registry consumer group, from its rules."""
    liaison = f"liaison-{uuid.uuid4().hex[:8]}"
    household = tree.household()
    adult = tree.register(household, name="李建国",
                          liaison=rpb.Liaison(worker_id=liaison, name="联系员"))
    child = baby(tree, household, name="陈小雨",
                 liaison=rpb.Liaison(worker_id=liaison, name="联系员"))
    notify_db.wait_recipients([adult.person_id, child.person_id])
    db = Database(stack.database_url("registry"), "registry", 1, 2)
    await db.open()
    try:
        registry = Registry(db, DEFAULT_PRIORITY_GROUPS, ZoneInfo("Asia/Shanghai"))
        age_record(registry_db, child.person_id, born_by(registry.today(), 3))
        scope = Caller(subject="system", role="service", scopes=(tree.city_path,))
        now = datetime.now(registry.tz)
        sixth = datetime(now.year + now.month // 12, now.month % 12 + 1, 6, 9, tzinfo=registry.tz)
        assert await scan_verifications(registry, sixth, scope) == {"due": 2, "overdue": 2}
        assert await scan_certification_due(registry, scope=scope) == 1
    finally:
        await db.close()

    api = notify_admin(tree, notification)
    # Notices for workers name the person by a label with the record's reference, never by name.
    labels = {adult.person_id: f"编号{adult.person_id[:8]}的服务对象",
              child.person_id: f"编号{child.person_id[:8]}的服务对象"}
    wanted = {("cdsp.events.v1.VerificationDue", adult.person_id),
              ("cdsp.events.v1.VerificationDue", child.person_id),
              ("cdsp.events.v1.VerificationOverdue", adult.person_id),
              ("cdsp.events.v1.VerificationOverdue", child.person_id),
              ("cdsp.events.v1.CertificationDue", child.person_id)}

    def inbox(recipient: str) -> list[pb.Notice]:
        return list(api.ListInbox(pb.ListInboxRequest(recipient_id=recipient,
                                                      page_size=50)).notices)

    def about(notice: pb.Notice) -> tuple[str, str]:
        assert "李建国" not in notice.body and "陈小雨" not in notice.body
        [who] = [p for p, label in labels.items() if label in notice.body]
        return notice.source_event_type, who

    notices = wait_until(lambda: (found := inbox(liaison)) and len(found) >= 5 and found,
                         "the liaison's inbox has the five reminders")
    assert {about(n) for n in notices} == wanted and len(notices) == 5
    assert all(n.recipient_kind == "liaison" and n.urgency == pb.NOTICE_URGENCY_NORMAL
               for n in notices)
    month = f"{sixth:%Y-%m}"
    due = next(n for n in notices
               if about(n) == ("cdsp.events.v1.VerificationDue", adult.person_id))
    assert due.template == "record_check_due" and month in due.body
    assert f"{sixth:%Y-%m}-05 00:00" in due.body
    certificate = next(n for n in notices if n.source_event_type.endswith("CertificationDue"))
    assert certificate.title == "该申请残疾人证了"
    assert f"{labels[child.person_id]}已满3周岁" in certificate.body
    settled = notify_db.settled(certificate.source_event_id)
    assert {(kind, channel, status) for kind, _, channel, status, _, _ in settled} >= {
        ("liaison", "inbox", INBOX_DELIVERED), ("grid_team", "inbox", INBOX_DELIVERED)}

    team = wait_until(lambda: (found := inbox(tree.grid_paths[0])) and len(found) >= 3 and found,
                      "the grid team's inbox has the overdue checks and the certificate")
    assert sorted(n.source_event_type.rsplit(".", 1)[1] for n in team) == [
        "CertificationDue", "VerificationOverdue", "VerificationOverdue"]
