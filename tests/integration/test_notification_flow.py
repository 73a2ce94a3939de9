"""The notification service on the real PostgreSQL and broker, with real local servers for the
outside world: which channels each disability gets, a red warning from the aid service reaching
the guardian and the grid team, retries, duplicates, restarts and undeliverable notices."""

from __future__ import annotations

import devstack
from cdsp.aid.v1 import aid_pb2 as apb
from cdsp.common.v1 import common_pb2 as common
from cdsp.events.v1 import aid_pb2 as ev
from cdsp.notification.v1 import notification_pb2 as pb
from cdsp.registry.v1 import registry_pb2 as rpb
from tests.aid_helpers import aid_admin, wait_projected
from tests.helpers import Tree
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
