"""The notification API's refusals: bad input names the field and the rule and changes nothing;
callers see only their jurisdictions; quiet hours and the rate limit hold notices, not drop
them."""

from __future__ import annotations

import uuid

import grpc
import pytest

import devstack
from cdsp.events.v1 import aid_pb2 as ev
from cdsp.notification.v1 import notification_pb2 as pb
from tests.helpers import Tree, rpc_error, token, violations
from tests.integration.conftest import NOTIFY_ENV
from tests.notification_helpers import (
    AidEvents,
    Endpoints,
    NotificationDb,
    notify_admin,
    notify_stub,
    unique_phone,
    wait_until,
)

INVALID = grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize(("url", "rule"), [
    ("ftp://partner.example.org/hook", "scheme"),
    ("javascript:alert(1)", "scheme"),
    ("http://partner.example.org/hook", "scheme"),      # http only to an allowed network
    ("https://10.0.0.8/hook", "private"),
    ("https://169.254.169.254/latest/meta-data", "link_local"),
    ("https://user:pw@partner.example.org/hook", "userinfo"),
    ("https://partner.example.org/hook#x", "fragment"),
    ("https:///hook", "host"),
])
def test_a_webhook_url_that_is_not_allowed_is_refused(tree: Tree, notification: str,
                                                      notify_db: NotificationDb, url: str,
                                                      rule: str) -> None:
    api = notify_admin(tree, notification)
    exc = rpc_error(api.RegisterWebhook, pb.RegisterWebhookRequest(
        url=url, jurisdiction_path=tree.grid_paths[0]))
    assert exc.code() == INVALID
    assert rule in violations(exc)["url"]
    assert notify_db.rows("SELECT count(*) FROM webhooks WHERE jurisdiction_path = %s",
                          [tree.grid_paths[0]]) == [(0,)]


def test_webhook_event_types_and_jurisdiction_are_checked(tree: Tree, notification: str) -> None:
    api = notify_admin(tree, notification)
    exc = rpc_error(api.RegisterWebhook, pb.RegisterWebhookRequest(
        url="https://partner.example.org/hook", event_types=["cdsp.events.v1.Nope", "x"],
        jurisdiction_path="not a path"))
    assert exc.code() == INVALID
    found = violations(exc)
    assert set(found) == {"event_types[0]", "event_types[1]", "jurisdiction_path"}
    outside = rpc_error(api.RegisterWebhook, pb.RegisterWebhookRequest(
        url="https://partner.example.org/hook", jurisdiction_path="/elsewhere/"))
    assert outside.code() == grpc.StatusCode.PERMISSION_DENIED
    worker = notify_stub(notification, token("grid_worker", [tree.grid_paths[0]]))
    assert rpc_error(worker.RegisterWebhook, pb.RegisterWebhookRequest(
        url="https://partner.example.org/hook", jurisdiction_path=tree.grid_paths[0])
    ).code() == grpc.StatusCode.PERMISSION_DENIED
    made = api.RegisterWebhook(pb.RegisterWebhookRequest(
        url="https://partner.example.org/hook", jurisdiction_path=tree.grid_paths[0],
        event_types=["cdsp.events.v1.WarningRaised"]))
    assert len(made.signing_secret) >= 40 and made.webhook_id


def test_contacts_and_app_links_are_checked(tree: Tree, notification: str,
                                            notify_db: NotificationDb) -> None:
    api = notify_admin(tree, notification)
    exc = rpc_error(api.SetWorkerContact, pb.SetWorkerContactRequest(
        recipient_id="", jurisdiction_path=tree.grid_paths[0], email="not-an-address"))
    assert exc.code() == INVALID and set(violations(exc)) == {"recipient_id", "email"}
    assert rpc_error(api.LinkApp, pb.LinkAppRequest(person_id="x")).code() == INVALID
    missing = rpc_error(api.LinkApp, pb.LinkAppRequest(person_id=str(uuid.uuid4())))
    assert missing.code() == grpc.StatusCode.NOT_FOUND
    person = tree.register(tree.household(1))
    notify_db.wait_recipients([person.person_id])
    grid0 = notify_stub(notification, token("community_worker", [tree.grid_paths[0]]))
    assert rpc_error(grid0.LinkApp, pb.LinkAppRequest(person_id=person.person_id)
                     ).code() == grpc.StatusCode.PERMISSION_DENIED
    assert notify_db.rows("SELECT count(*) FROM app_links WHERE person_id = %s",
                          [person.person_id]) == [(0,)]


def test_inboxes_and_notices_are_read_within_the_callers_jurisdictions(
        tree: Tree, notification: str, notify_db: NotificationDb, aid_events: AidEvents) -> None:
    event_id = aid_events.publish(ev.KitLowOnStock(grid_code=tree.grids[1], item="walker",
                                                   available=0, threshold=1),
                                  tree.grid_paths[1], tree.grids[1])
    notify_db.settled(event_id)
    admin = notify_admin(tree, notification)
    [notice] = admin.ListNotices(pb.ListNoticesRequest(source_event_id=event_id)).notices
    grid0 = notify_stub(notification, token("grid_worker", [tree.grid_paths[0]], subject="w0"))
    assert rpc_error(grid0.ListInbox, pb.ListInboxRequest(recipient_id=tree.grid_paths[1])
                     ).code() == grpc.StatusCode.PERMISSION_DENIED
    assert rpc_error(grid0.GetNotice, pb.GetNoticeRequest(notice_id=notice.notice_id)
                     ).code() == grpc.StatusCode.PERMISSION_DENIED
    assert rpc_error(grid0.GetNotice, pb.GetNoticeRequest(notice_id=str(uuid.uuid4()))
                     ).code() == grpc.StatusCode.NOT_FOUND
    assert rpc_error(grid0.GetNotice, pb.GetNoticeRequest(notice_id="1")).code() == INVALID
    assert rpc_error(grid0.ListInbox, pb.ListInboxRequest(recipient_id="another-worker")
                     ).code() == grpc.StatusCode.PERMISSION_DENIED
    assert grid0.ListNotices(pb.ListNoticesRequest(source_event_id=event_id)).notices == []
    volunteer = notify_stub(notification, token("volunteer", [tree.grid_paths[1]]))
    assert rpc_error(volunteer.ListInbox, pb.ListInboxRequest(recipient_id=tree.grid_paths[1])
                     ).code() == grpc.StatusCode.PERMISSION_DENIED
    grid1 = notify_stub(notification, token("grid_worker", [tree.grid_paths[1]]))
    inbox = grid1.ListInbox(pb.ListInboxRequest(recipient_id=tree.grid_paths[1]))
    assert [n.notice_id for n in inbox.notices] == [notice.notice_id]
    assert inbox.notices[0].title == "辅具快借完了：助行器"
    stats = grid1.GetDeliveryStats(pb.GetDeliveryStatsRequest())
    assert {(c.channel, c.status): c.count for c in stats.counts}[
        ("inbox", pb.DELIVERY_STATUS_DELIVERED)] >= 1


def test_quiet_hours_and_the_rate_limit_hold_normal_texts_but_not_urgent_ones(
        tree: Tree, notification: str, notify_db: NotificationDb, endpoints: Endpoints,
        aid_events: AidEvents, stack: devstack.Stack) -> None:
    person = tree.register(tree.household(), phone=unique_phone())
    other = tree.register(tree.household(), phone=unique_phone())
    notify_db.wait_recipients([person.person_id, other.person_id])
    devstack.stop_service(stack, "notification")
    # Quiet all day, and one text an hour per recipient.
    quiet = {**NOTIFY_ENV, **endpoints.env, "CDSP_NOTIFY_QUIET_HOURS": "00:00-23:59",
             "CDSP_NOTIFY_RATE_PER_HOUR": "1"}
    devstack.start_service(stack, "notification", quiet)
    try:
        normal = aid_events.publish(ev.ReliefDecided(
            decision_id=str(uuid.uuid4()), household_id=person.household_id, granted=True,
            amount_fen=50_000), tree.grid_paths[0], "d1")
        urgent = aid_events.publish(ev.RequestDispatched(
            request_id=str(uuid.uuid4()), team="一队", person_id=person.person_id),
            tree.grid_paths[0], "q1")
        [urgent_sms] = notify_db.settled(urgent)
        assert urgent_sms[2:4] == ("sms", 2)
        held = wait_until(lambda: [d for d in notify_db.deliveries(normal)
                                   if d[5].startswith("held")], "the normal text held")
        assert held[0][2:5] == ("sms", 1, 0) and "quiet hours" in held[0][5]
    finally:
        devstack.stop_service(stack, "notification")
    rate_only = {**quiet, "CDSP_NOTIFY_QUIET_HOURS": ""}
    devstack.start_service(stack, "notification", rate_only)
    try:
        first = aid_events.publish(ev.ReliefDecided(
            decision_id=str(uuid.uuid4()), household_id=other.household_id, granted=True,
            amount_fen=10_000), tree.grid_paths[0], "d2")
        assert notify_db.settled(first)[0][2:4] == ("sms", 2)
        second = aid_events.publish(ev.ReliefDecided(
            decision_id=str(uuid.uuid4()), household_id=other.household_id, granted=False,
            amount_fen=10_000), tree.grid_paths[0], "d3")
        limited = wait_until(lambda: [d for d in notify_db.deliveries(second)
                                      if d[5].startswith("held")], "the second text held")
        assert "rate limit of 1" in limited[0][5] and limited[0][4] == 0
        texts = [m for m in endpoints.sms.messages if m.to == f"+86{other.phone}"]
        assert len(texts) == 1
    finally:
        devstack.stop_service(stack, "notification")
        devstack.start_service(stack, "notification", {**NOTIFY_ENV, **endpoints.env})
