"""The partner gateway end to end, with the real registry, aid service, broker and database: a
subscriber receives exactly its subtree's events, signed, redacted and pseudonymised; a receiver
that was down gets everything once it is back, in order per subject; a revoked subscriber gets
nothing more; dead letters are listed and replayed; bad registrations change nothing."""

from __future__ import annotations

import time
import uuid

import grpc
import pytest

import devstack
from cdsp.aid.v1 import aid_pb2 as apb
from cdsp.partner.v1 import events_pb2 as pev
from cdsp.partner.v1 import partner_pb2 as pb
from partner.domain import cloudevents
from tests.aid_helpers import aid_admin, wait_projected
from tests.events import TopicReader
from tests.helpers import Tree, rpc_error, violations
from tests.partner_helpers import Received, Receiver, admin, webhook_subscriber

WARNING = "cdsp.partner.v1.WarningRaised"


@pytest.fixture(scope="module")
def receiver() -> Receiver:
    return Receiver().start()


def code() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def report(tree: Tree, aid: str, household_id: str, kind: int, amount: int = 20_000) -> None:
    aid_admin(tree, aid).ReportHardship(apb.ReportHardshipRequest(
        household_id=household_id, kind=kind, amount_fen=amount))


def household_with_member(tree: Tree, stack: devstack.Stack, grid: int) -> str:
    household = tree.household(grid=grid, income_fen=300_000)
    wait_projected(stack.database_url("aid"), [tree.register(household).person_id])
    return household.household_id


def verified(r: Received, secret: str) -> bool:
    return cloudevents.verify(secret, r.headers["X-CDSP-Timestamp"], r.body,
                              r.headers["X-CDSP-Signature"])


def test_a_subscriber_gets_its_subtree_only_signed_redacted_and_pseudonymised(
        tree: Tree, aid: str, partner: str, stack: devstack.Stack, receiver: Receiver) -> None:
    api = admin(partner, [tree.city_path])
    narrow, wide = code(), code()
    a = api.RegisterSubscriber(pb.RegisterSubscriberRequest(subscriber=webhook_subscriber(
        narrow, tree.grid_paths[0], receiver.url(narrow), ["WarningRaised"],
        ["WarningRaised.level"])))
    b = api.RegisterSubscriber(pb.RegisterSubscriberRequest(subscriber=webhook_subscriber(
        wide, tree.city_path, receiver.url(wide), [WARNING], ["WarningRaised.rule"])))
    assert a.secret and a.subscriber.state == pb.SUBSCRIBER_STATE_ACTIVE
    assert not api.GetSubscriber(pb.GetSubscriberRequest(
        subscriber_id=a.subscriber.subscriber_id)).HasField("kafka")
    inside = household_with_member(tree, stack, 0)
    outside = household_with_member(tree, stack, 1)
    report(tree, aid, inside, apb.HARDSHIP_KIND_ACCIDENT)
    report(tree, aid, outside, apb.HARDSHIP_KIND_ACCIDENT)

    both = receiver.wait(wide, lambda got: len(got) >= 2)
    time.sleep(1.0)  # whatever else would come for the narrow one has come by now
    got = receiver.got[narrow]
    assert len(got) == 1
    one = got[0]
    assert verified(one, a.secret) and not verified(one, b.secret)
    assert one.headers["Content-Type"] == "application/cloudevents+json"
    doc = one.doc
    assert doc["type"] == WARNING and doc["source"] == "/cdsp/partner"
    assert doc["specversion"] == "1.0" and doc["cdspsequence"] == 1
    assert doc["cdspjurisdiction"].startswith(tree.grid_paths[0])
    # Only the allowlisted field and the subject: no case, no persons, no rule.
    assert set(doc["data"]) == {"household", "level"}
    assert doc["data"]["level"] == "WARNING_LEVEL_ORANGE"
    assert doc["subject"] == doc["data"]["household"] != inside
    assert inside not in one.body.decode()
    # The wide subscriber knows the same household under another pseudonym.
    same = [r for r in both if r.doc["cdspjurisdiction"].startswith(tree.grid_paths[0])]
    assert len(same) == 1 and verified(same[0], b.secret)
    assert same[0].doc["subject"] != doc["subject"]
    assert set(same[0].doc["data"]) == {"household", "rule"}

    # Revoked: nothing more, although the events go on (the wide one still gets them).
    revoked = api.RevokeSubscriber(pb.ChangeSubscriberRequest(
        subscriber_id=a.subscriber.subscriber_id, expected_version=a.subscriber.version))
    assert revoked.state == pb.SUBSCRIBER_STATE_REVOKED
    report(tree, aid, inside, apb.HARDSHIP_KIND_MEDICAL_SPENDING, amount=200_000)  # red
    receiver.wait(wide, lambda got: len(got) >= 3)
    time.sleep(1.0)
    assert len(receiver.got[narrow]) == 1


def test_a_receiver_down_then_up_gets_everything_in_order_per_subject(
        tree: Tree, aid: str, partner: str, stack: devstack.Stack, receiver: Receiver) -> None:
    api = admin(partner, [tree.city_path])
    name = code()
    receiver.status[name] = 503
    api.RegisterSubscriber(pb.RegisterSubscriberRequest(subscriber=webhook_subscriber(
        name, tree.city_path, receiver.url(name), [WARNING], ["WarningRaised.level"])))
    households = [household_with_member(tree, stack, 0), household_with_member(tree, stack, 1)]
    for household in households:  # yellow, orange, red: three raises each
        report(tree, aid, household, apb.HARDSHIP_KIND_DAILY_SPENDING_GAP)
        report(tree, aid, household, apb.HARDSHIP_KIND_ACCIDENT)
        report(tree, aid, household, apb.HARDSHIP_KIND_MEDICAL_SPENDING, amount=900_000)
    time.sleep(3.0)  # the gateway keeps retrying
    assert not receiver.got.get(name)
    receiver.status[name] = 200
    got = receiver.wait(name, lambda got: len({r.doc["id"] for r in got}) >= 6, timeout=60)
    unique: dict[str, Received] = {}
    for r in got:  # a receiver that de-duplicates on the id
        unique.setdefault(r.doc["id"], r)
    per_subject: dict[str, list[tuple[int, str]]] = {}
    for r in unique.values():
        per_subject.setdefault(r.doc["subject"], []).append(
            (r.doc["cdspsequence"], r.doc["data"]["level"]))
    assert len(per_subject) == 2
    for events in per_subject.values():  # arrival order is sequence order
        assert events == [(1, "WARNING_LEVEL_YELLOW"), (2, "WARNING_LEVEL_ORANGE"),
                          (3, "WARNING_LEVEL_RED")]
    assert len(got) == 6  # nothing sent twice either (no crash in between)


def test_refused_deliveries_are_dead_letters_until_replayed(
        tree: Tree, aid: str, partner: str, stack: devstack.Stack, receiver: Receiver) -> None:
    api = admin(partner, [tree.city_path])
    name = code()
    receiver.status[name] = 410  # refused for good: dead at once
    sub = api.RegisterSubscriber(pb.RegisterSubscriberRequest(subscriber=webhook_subscriber(
        name, tree.city_path, receiver.url(name), [WARNING], []))).subscriber
    household = household_with_member(tree, stack, 0)
    report(tree, aid, household, apb.HARDSHIP_KIND_DAILY_SPENDING_GAP)
    report(tree, aid, household, apb.HARDSHIP_KIND_ACCIDENT)
    request = pb.ListDeadLettersRequest(subscriber_id=sub.subscriber_id)
    deadline = time.monotonic() + 30
    while not api.ListDeadLetters(request).dead_letters and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    letters = api.ListDeadLetters(request).dead_letters
    # The first is dead and holds its subject: the second waits behind it, not dead.
    assert len(letters) == 1 and letters[0].last_error == "HTTP 410"
    assert letters[0].type == WARNING and letters[0].attempts == 1
    receiver.status[name] = 200
    replayed = api.ReplayDeadLetters(pb.ReplayDeadLettersRequest(
        subscriber_id=sub.subscriber_id))
    assert replayed.replayed == 1
    got = receiver.wait(name, lambda got: len(got) >= 2)
    assert [r.doc["cdspsequence"] for r in got] == [1, 2]
    assert not api.ListDeadLetters(request).dead_letters


def test_pause_holds_and_resume_delivers_and_rotation_signs_with_both(
        tree: Tree, aid: str, partner: str, stack: devstack.Stack, receiver: Receiver) -> None:
    api = admin(partner, [tree.city_path])
    name = code()
    first = api.RegisterSubscriber(pb.RegisterSubscriberRequest(subscriber=webhook_subscriber(
        name, tree.city_path, receiver.url(name), [WARNING], [])))
    sid = first.subscriber.subscriber_id
    paused = api.PauseSubscriber(pb.ChangeSubscriberRequest(subscriber_id=sid))
    assert paused.state == pb.SUBSCRIBER_STATE_PAUSED
    stale = rpc_error(api.ResumeSubscriber, pb.ChangeSubscriberRequest(
        subscriber_id=sid, expected_version=first.subscriber.version))
    assert stale.code() == grpc.StatusCode.FAILED_PRECONDITION
    rotated = api.RotateSecret(pb.RotateSecretRequest(subscriber_id=sid, overlap_s=600))
    assert rotated.secret != first.secret
    report(tree, aid, household_with_member(tree, stack, 0), apb.HARDSHIP_KIND_ACCIDENT)
    time.sleep(2.0)
    assert not receiver.got.get(name)  # paused: it waits
    api.ResumeSubscriber(pb.ChangeSubscriberRequest(subscriber_id=sid,
                                                    expected_version=rotated.subscriber.version))
    one = receiver.wait(name, lambda got: len(got) >= 1)[0]
    assert verified(one, rotated.secret) and verified(one, first.secret)


def test_bad_registrations_are_refused_naming_the_field_and_change_nothing(
        tree: Tree, partner: str, receiver: Receiver) -> None:
    district = "/".join(tree.community_path.split("/")[:3]) + "/"
    api = admin(partner, [district], role="district_admin")
    before = len(api.ListSubscribers(pb.ListSubscribersRequest(include_revoked=True)).subscribers)

    def refused(sub: pb.Subscriber) -> grpc.RpcError:
        return rpc_error(api.RegisterSubscriber, pb.RegisterSubscriberRequest(subscriber=sub))

    err = refused(webhook_subscriber(code(), district, receiver.url("x"), ["PersonRegistered"],
                                     []))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(err)) == {"subscriber.event_types[0]"}
    err = refused(webhook_subscriber(code(), tree.city_path, receiver.url("x"), [WARNING], []))
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "jurisdiction" in (err.details() or "")
    for url in ("http://partner.example.com/hook", "https://10.0.0.8/hook",
                "https://169.254.169.254/latest"):
        err = refused(webhook_subscriber(code(), district, url, [WARNING], []))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert set(violations(err)) == {"subscriber.webhook.url"}, url
    taken = code()
    api.RegisterSubscriber(pb.RegisterSubscriberRequest(subscriber=webhook_subscriber(
        taken, district, receiver.url("x"), [WARNING], [])))
    err = refused(webhook_subscriber(taken, district, receiver.url("y"), [WARNING], []))
    assert err.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "subscriber.code" in (err.details() or "")
    after = api.ListSubscribers(pb.ListSubscribersRequest(include_revoked=True)).subscribers
    assert len(after) == before + 1  # only the good one
    # A street administrator may not administer subscribers at all.
    street = admin(partner, [tree.community_path], role="street_admin")
    err = rpc_error(street.ListSubscribers, pb.ListSubscribersRequest())
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_kafka_subscriber_s_topic_receives_its_events(
        tree: Tree, aid: str, partner: str, stack: devstack.Stack) -> None:
    api = admin(partner, [tree.city_path])
    name = code()
    sub = pb.Subscriber(code=name, name="charity", purpose="48-hour relief",
                        event_types=[WARNING], jurisdiction_path=tree.city_path,
                        fields=["WarningRaised.level"])
    sub.kafka.principal = f"User:{name}"
    made = api.RegisterSubscriber(pb.RegisterSubscriberRequest(subscriber=sub)).subscriber
    assert made.kafka.topic == f"cdsp.partner.{name}.v1"
    report(tree, aid, household_with_member(tree, stack, 0), apb.HARDSHIP_KIND_ACCIDENT)
    reader = TopicReader(stack.kafka_bootstrap, made.kafka.topic)
    try:
        deadline = time.monotonic() + 30
        while not reader.records and time.monotonic() < deadline:
            reader.poll()
        time.sleep(1.0)
        reader.poll()
    finally:
        reader.close()
    assert len(reader.records) == 1
    key, value = reader.records[0]
    event = pev.PartnerEvent.FromString(value)
    assert key == event.subject.encode()
    payload = pev.WarningRaised()
    assert event.type == WARNING and event.data.Unpack(payload) and event.sequence == 1
    assert payload.level == pev.WARNING_LEVEL_ORANGE and not payload.case and not payload.persons
