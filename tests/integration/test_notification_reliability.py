"""Delivery that survives what goes wrong: an endpoint failing then recovering, an event
delivered twice, the service restarted in the middle of a retry loop, permanent refusals, and
the events that say what happened."""

from __future__ import annotations

import uuid

import psycopg

import devstack
from cdsp.common.v1 import common_pb2 as common
from cdsp.events.v1 import aid_pb2 as ev
from cdsp.events.v1 import notification_pb2 as nev
from cdsp.notification.v1 import notification_pb2 as pb
from runtime.events import build_envelope, unpack_payload
from tests.events import TopicReader
from tests.helpers import Tree
from tests.integration.conftest import NOTIFY_ENV
from tests.notification_helpers import (
    AidEvents,
    Endpoints,
    NotificationDb,
    notify_admin,
    unique_phone,
    wait_until,
)


def kit_low(grid: str) -> ev.KitLowOnStock:
    """A grid-team notice: the inbox and every webhook over the grid."""
    return ev.KitLowOnStock(grid_code=grid, item="wheelchair", available=1, threshold=2)


def webhook_requests(endpoints: Endpoints, event_id: str) -> list[tuple[int, str]]:
    return [(r.status, r.headers.get("X-CDSP-Delivery", "")) for r in endpoints.webhook.received
            if r.json and r.json.get("source_event_id") == event_id]


def test_a_webhook_failing_twice_then_succeeding_gets_exactly_one_delivery(
        tree: Tree, notification: str, notify_db: NotificationDb, endpoints: Endpoints,
        aid_events: AidEvents) -> None:
    api = notify_admin(tree, notification)
    hook = api.RegisterWebhook(pb.RegisterWebhookRequest(url=endpoints.webhook.url,
                                                         jurisdiction_path=tree.grid_paths[1]))
    endpoints.do(lambda: endpoints.webhook.fail_next(2, 503))
    event_id = aid_events.publish(kit_low(tree.grids[1]), tree.grid_paths[1], tree.grids[1])
    settled = notify_db.settled(event_id)
    assert {(kind, channel): (status, attempts) for kind, _, channel, status, attempts, _
            in settled} == {("grid_team", "inbox"): (3, 1), ("grid_team", "webhook"): (3, 3)}
    requests = webhook_requests(endpoints, event_id)
    assert [status for status, _ in requests] == [503, 503, 200]
    assert len({delivery for _, delivery in requests}) == 1  # one delivery id: dedupable
    ok = [r for r in endpoints.webhook.received
          if r.json and r.json.get("source_event_id") == event_id and r.status == 200]
    assert ok[0].signature_valid(hook.signing_secret)
    assert ok[0].json["title"] == "辅具快借完了：轮椅"


def test_a_duplicate_event_sends_nothing_new(
        tree: Tree, notification: str, notify_db: NotificationDb, endpoints: Endpoints,
        aid_events: AidEvents, stack: devstack.Stack) -> None:
    person = tree.register(tree.household(), phone=unique_phone())
    notify_db.wait_recipients([person.person_id])
    envelope = build_envelope(
        ev.RequestDispatched(request_id=str(uuid.uuid4()), team="网格一队",
                             person_id=person.person_id),
        aggregate_type="service_request", aggregate_id=str(uuid.uuid4()), version=2,
        jurisdiction_path=tree.grid_paths[0], producer="aid", actor="t", request_id="t")
    raw = envelope.SerializeToString()
    aid_events.send_raw(envelope.aggregate_id, raw)
    first = notify_db.settled(envelope.event_id)
    sent_before = [m for m in endpoints.sms.messages if m.to == f"+86{person.phone}"]
    assert [d[2] for d in first] == ["sms"] and len(sent_before) == 1

    aid_events.send_raw(envelope.aggregate_id, raw)  # the broker delivers it again
    # Even an event whose inbox row is gone (a replay after the inbox was pruned) makes no
    # second notice: notices are unique per (event, recipient, rule).
    with psycopg.connect(stack.database_url("notification"), autocommit=True) as conn:
        conn.execute("DELETE FROM inbox WHERE event_id = %s", [envelope.event_id])
    aid_events.send_raw(envelope.aggregate_id, raw)
    wait_until(lambda: notify_db.rows("SELECT 1 FROM inbox WHERE event_id = %s",
                                      [envelope.event_id]), "the replay was consumed")
    marker = aid_events.publish(kit_low(tree.grids[0]), tree.grid_paths[0], tree.grids[0])
    notify_db.settled(marker)  # events after the replay are done, so the replay is too
    assert notify_db.deliveries(envelope.event_id) == first
    assert [m for m in endpoints.sms.messages if m.to == f"+86{person.phone}"] == sent_before


def test_a_restart_in_the_middle_of_a_retry_loop_loses_nothing(
        tree: Tree, notification: str, notify_db: NotificationDb, endpoints: Endpoints,
        aid_events: AidEvents, stack: devstack.Stack) -> None:
    api = notify_admin(tree, notification)
    api.RegisterWebhook(pb.RegisterWebhookRequest(url=endpoints.webhook.url,
                                                  jurisdiction_path=tree.grid_paths[0]))
    devstack.stop_service(stack, "notification")
    slow = {**NOTIFY_ENV, **endpoints.env, "CDSP_NOTIFY_RETRY_BASE_MS": "3000",
            "CDSP_NOTIFY_MAX_ATTEMPTS": "10"}
    devstack.start_service(stack, "notification", slow)
    endpoints.do(lambda: endpoints.webhook.respond_with(503))
    try:
        event_id = aid_events.publish(kit_low(tree.grids[0]), tree.grid_paths[0],
                                      tree.grids[0])

        def retrying() -> list[tuple[object, ...]]:
            return [d for d in notify_db.deliveries(event_id)
                    if d[2] == "webhook" and d[3] == 1 and d[4] >= 1]
        wait_until(retrying, "the webhook delivery waiting for its next try")
    finally:
        devstack.stop_service(stack, "notification")
        endpoints.do(lambda: endpoints.webhook.respond_with(200))
    [(_, _, _, status, tries_before, error)] = [d for d in notify_db.deliveries(event_id)
                                                 if d[2] == "webhook"]
    assert status == 1 and error == "HTTP 503"

    devstack.start_service(stack, "notification", {**NOTIFY_ENV, **endpoints.env})
    settled = {d[2]: d for d in notify_db.settled(event_id)}
    assert settled["webhook"][3:5] == (3, tries_before + 1)
    assert settled["inbox"][3] == 3
    requests = webhook_requests(endpoints, event_id)
    assert [s for s, _ in requests] == [503] * tries_before + [200]
    assert len({d for _, d in requests}) == 1


def test_a_refusal_fails_at_once_and_every_outcome_is_an_event(
        tree: Tree, notification: str, notify_db: NotificationDb, endpoints: Endpoints,
        aid_events: AidEvents, stack: devstack.Stack) -> None:
    person = tree.register(tree.household(), phone=unique_phone(),
                           category=common.DISABILITY_CATEGORY_PHYSICAL)
    notify_db.wait_recipients([person.person_id])
    endpoints.do(lambda: endpoints.sms.fail_next(1, 401))  # the provider refuses the key
    event_id = aid_events.publish(
        ev.RequestDispatched(request_id=str(uuid.uuid4()), team="网格一队",
                             person_id=person.person_id), tree.grid_paths[0], "r1")
    [(_, _, channel, status, attempts, error)] = notify_db.settled(event_id)
    assert (channel, status, attempts) == ("sms", 4, 1)
    assert "credentials" in error

    marker = aid_events.publish(kit_low(tree.grids[0]), tree.grid_paths[0], tree.grids[0])
    [(_, _, _, _, _, _)] = [d for d in notify_db.settled(marker) if d[2] == "inbox"]
    notices = {r[0]: r[1] for r in notify_db.rows(
        "SELECT source_event_id::text, notice_id::text FROM notices WHERE source_event_id = "
        "ANY(%s::uuid[])", [[event_id, marker]])}
    reader = TopicReader(stack.kafka_bootstrap, "cdsp.notification.v1")
    try:
        found = reader.wait_for(lambda envs: {e.event_type for e in envs
                                              if e.aggregate_id in notices.values()} >= {
            "cdsp.events.v1.NoticeFailed", "cdsp.events.v1.NoticeSent",
            "cdsp.events.v1.NoticeDelivered"})
    finally:
        reader.close()
    failed = [unpack_payload(e) for e in found if e.aggregate_id == notices[event_id]]
    assert len(failed) == 1 and isinstance(failed[0], nev.NoticeFailed)
    assert failed[0].channel == "sms" and failed[0].attempts == 1
    inbox = [e for e in found if e.aggregate_id == notices[marker]]
    assert [e.event_type for e in inbox] == ["cdsp.events.v1.NoticeSent",
                                             "cdsp.events.v1.NoticeDelivered"]
    assert [e.aggregate_version for e in inbox] == [2, 3]
    sent = unpack_payload(inbox[0])
    assert isinstance(sent, nev.NoticeSent) and sent.channel == "inbox"
    assert sent.recipient_kind == "grid_team" and sent.source_event_id == marker


def test_a_grid_team_with_an_e_mail_contact_is_e_mailed(
        tree: Tree, notification: str, notify_db: NotificationDb, endpoints: Endpoints,
        aid_events: AidEvents) -> None:
    api = notify_admin(tree, notification)
    address = f"grid-{uuid.uuid4().hex[:8]}@example.org"
    contact = api.SetWorkerContact(pb.SetWorkerContactRequest(
        recipient_id=tree.grid_paths[1], jurisdiction_path=tree.grid_paths[1], email=address))
    assert contact.email == "g***@example.org"
    event_id = aid_events.publish(
        ev.SlaBreached(request_id=str(uuid.uuid4()), deadline="arrival",
                       jurisdiction_path=tree.grid_paths[1]), tree.grid_paths[1], "r2")
    settled = {d[2]: d[3] for d in notify_db.settled(event_id)}
    assert settled == {"inbox": 3, "email": 2}
    mail = next(m for m in endpoints.smtp.messages if address in m.rcpt_tos)
    assert mail.message["Subject"] == "求助处理超时，请尽快跟进"
    assert "30分钟到场" in mail.message.get_content()


def test_a_slow_endpoint_never_holds_up_an_inbox(
        tree: Tree, notification: str, notify_db: NotificationDb, endpoints: Endpoints,
        aid_events: AidEvents) -> None:
    api = notify_admin(tree, notification)
    api.RegisterWebhook(pb.RegisterWebhookRequest(url=endpoints.webhook.url,
                                                  jurisdiction_path=tree.grid_paths[0]))
    endpoints.do(lambda: endpoints.webhook.set_delay(3.0))
    try:
        event_id = aid_events.publish(kit_low(tree.grids[0]), tree.grid_paths[0],
                                      tree.grids[0])

        def inbox_delivered() -> list[tuple[object, ...]]:
            found = notify_db.deliveries(event_id)
            return found if any(d[2] == "inbox" and d[3] == 3 for d in found) else []
        state = wait_until(inbox_delivered, "the inbox delivered")
        webhook = [d for d in state if d[2] == "webhook"]
        assert webhook and webhook[0][3] == 1  # still on its way while the inbox has it
    finally:
        endpoints.do(lambda: endpoints.webhook.set_delay(0.0))
    assert {d[2]: d[3] for d in notify_db.settled(event_id)} == {"inbox": 3, "webhook": 3}
