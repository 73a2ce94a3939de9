"""Which channels each disability gets, end to end: registry persons projected into the
notification service, a red warning on cdsp.aid.v1, and what the provider, the inbox and the
notices record."""

from __future__ import annotations

import uuid

import devstack
from cdsp.common.v1 import common_pb2 as common
from cdsp.events.v1 import aid_pb2 as ev
from cdsp.events.v1 import notification_pb2 as nev
from cdsp.notification.v1 import notification_pb2 as pb
from cdsp.notification.v1 import notification_pb2_grpc
from cdsp.registry.v1 import registry_pb2 as rpb
from runtime.events import unpack_payload
from runtime.grpc_client import aio_channel
from tests.events import TopicReader
from tests.helpers import Tree, token
from tests.notification_helpers import (
    AidEvents,
    Endpoints,
    NotificationDb,
    notify_admin,
    unique_phone,
    wait_until,
)

C = common


def red_warning(household_id: str, person_ids: list[str]) -> ev.WarningRaised:
    return ev.WarningRaised(household_id=household_id, case_id=str(uuid.uuid4()),
                            level=ev.WARNING_LEVEL_RED, reason="test",
                            person_ids=person_ids)


def test_each_disability_is_reached_in_a_way_it_allows(
        tree: Tree, notification: str, notify_db: NotificationDb, endpoints: Endpoints,
        aid_events: AidEvents, stack: devstack.Stack) -> None:
    household = tree.household()
    phones = {k: unique_phone() for k in ("visual", "visual_app", "hearing", "hearing_call",
                                          "speech", "intellectual", "guardian_i", "mental",
                                          "guardian_m")}
    people = {
        "visual": tree.register(household, category=C.DISABILITY_CATEGORY_VISUAL,
                                phone=phones["visual"]),
        "visual_app": tree.register(household, category=C.DISABILITY_CATEGORY_VISUAL,
                                    phone=phones["visual_app"],
                                    preferred_channel=C.CONTACT_CHANNEL_APP),
        "hearing": tree.register(household, category=C.DISABILITY_CATEGORY_HEARING,
                                 phone=phones["hearing"]),
        "hearing_call": tree.register(household, category=C.DISABILITY_CATEGORY_HEARING,
                                      phone=phones["hearing_call"],
                                      preferred_channel=C.CONTACT_CHANNEL_PHONE_CALL),
        "speech": tree.register(household, category=C.DISABILITY_CATEGORY_SPEECH,
                                phone=phones["speech"]),
        "intellectual": tree.register(
            household, category=C.DISABILITY_CATEGORY_INTELLECTUAL, phone=phones["intellectual"],
            guardian=rpb.Guardian(name="监护甲", phone=phones["guardian_i"],
                                                      relation="父母")),
        "mental": tree.register(
            household, category=C.DISABILITY_CATEGORY_MENTAL, phone=phones["mental"],
            guardian=rpb.Guardian(name="监护乙", phone=phones["guardian_m"],
                                                      relation="配偶")),
        "unreachable": tree.register(household, category=C.DISABILITY_CATEGORY_PHYSICAL,
                                     phone="",
                                     preferred_channel=C.CONTACT_CHANNEL_APP),
    }
    ids = {k: p.person_id for k, p in people.items()}
    notify_db.wait_recipients(list(ids.values()))
    api = notify_admin(tree, notification)
    for key in ("visual_app", "hearing"):
        api.LinkApp(pb.LinkAppRequest(person_id=ids[key], linked=True))

    event_id = aid_events.publish(red_warning(household.household_id, list(ids.values())),
                                  tree.grid_paths[0], str(uuid.uuid4()))
    settled = notify_db.settled(event_id)
    channels: dict[tuple[str, str], set[str]] = {}
    for kind, who, channel, status, _, error in settled:
        assert status in (2, 3), (kind, channel, error)
        channels.setdefault((kind, who), set()).add(channel)

    def resident(key: str) -> set[str]:
        return channels.get(("resident", ids[key]), set())

    assert resident("visual") == {"voice", "sms"}          # no app: the SMS is read aloud
    assert resident("visual_app") == {"voice", "inbox"}
    assert resident("hearing") == {"sms", "inbox"}         # text, never voice
    assert resident("hearing_call") == {"sms"}             # the call preference set aside
    assert resident("speech") == {"sms"}
    assert resident("intellectual") == {"sms"}
    assert channels[("guardian", ids["intellectual"])] == {"sms"}
    assert channels[("guardian", ids["mental"])] == {"sms"}
    assert ("resident", ids["unreachable"]) not in channels

    notices = {(k, who): (reason, easy, flash)
               for k, who, reason, easy, flash in notify_db.notices(event_id)}
    assert notices[("resident", ids["intellectual"])][1] is True        # easy read
    assert notices[("guardian", ids["intellectual"])][1] is False
    assert notices[("resident", ids["hearing"])][2] is True             # flashing alert
    assert "no reachable channel" in notices[("resident", ids["unreachable"])][0]

    sent = {(m.to, m.kind): m for m in endpoints.sms.messages}
    assert (f"+86{phones['visual']}", "voice") in sent
    assert (f"+86{phones['visual']}", "sms") in sent
    assert (f"+86{phones['hearing']}", "voice") not in sent
    assert sent[(f"+86{phones['hearing']}", "sms")].flash is True
    assert (f"+86{phones['hearing_call']}", "voice") not in sent
    assert (f"+86{phones['guardian_m']}", "sms") in sent

    # Why each got what they got, on the notice itself.
    listed = api.ListNotices(pb.ListNoticesRequest(source_event_id=event_id, page_size=100))
    by_person = {(n.recipient_kind, n.recipient_id): n for n in listed.notices}
    call = by_person[("resident", ids["hearing_call"])]
    assert any("set aside" in r for r in call.channel_reasons)
    unreachable = by_person[("resident", ids["unreachable"])]
    assert unreachable.undeliverable_reason and not unreachable.deliveries

    # The undeliverable notice is announced, never dropped in silence.
    reader = TopicReader(stack.kafka_bootstrap, "cdsp.notification.v1")
    try:
        found = reader.wait_for(lambda envs: any(
            e.event_type == "cdsp.events.v1.NoticeFailed"
            and e.aggregate_id == unreachable.notice_id for e in envs))
    finally:
        reader.close()
    failed = next(unpack_payload(e) for e in found if e.aggregate_id == unreachable.notice_id)
    assert isinstance(failed, nev.NoticeFailed)
    assert failed.reason.startswith("undeliverable: no reachable channel")
    assert phones["visual"] not in failed.reason


def test_the_inbox_pushes_a_notice_to_a_connected_app_and_lists_it(
        tree: Tree, notification: str, notify_db: NotificationDb, aid_events: AidEvents) -> None:
    household = tree.household()
    person = tree.register(household, category=C.DISABILITY_CATEGORY_PHYSICAL,
                           phone=unique_phone(), preferred_channel=C.CONTACT_CHANNEL_APP)
    notify_db.wait_recipients([person.person_id])
    api = notify_admin(tree, notification)
    api.LinkApp(pb.LinkAppRequest(person_id=person.person_id, linked=True))
    stream = api.StreamInbox(pb.StreamInboxRequest(recipient_id=person.person_id), timeout=30)
    stream.initial_metadata()  # the subscription is in place
    warning = ev.WarningRaised(household_id=household.household_id, case_id=str(uuid.uuid4()),
                               level=ev.WARNING_LEVEL_ORANGE, reason="test",
                               person_ids=[person.person_id])
    event_id = aid_events.publish(warning, tree.grid_paths[0], str(uuid.uuid4()))
    pushed = next(stream)
    stream.cancel()
    assert pushed.source_event_id == event_id and pushed.recipient_kind == "resident"
    assert pushed.title == "橙色预警：我们来帮您"
    assert [d.channel for d in pushed.deliveries] == ["inbox"]

    inbox = api.ListInbox(pb.ListInboxRequest(recipient_id=person.person_id))
    assert [n.notice_id for n in inbox.notices] == [pushed.notice_id]
    liaison = wait_until(lambda: [n for n in api.ListInbox(pb.ListInboxRequest(
        recipient_id="gw-01", page_size=500)).notices if n.source_event_id == event_id],
        "the liaison's inbox has the orange warning")
    assert liaison[0].recipient_kind == "liaison"


async def test_an_asyncio_client_streams_its_inbox_with_its_token(
        tree: Tree, notification: str, notify_db: NotificationDb, aid_events: AidEvents) -> None:
    """runtime.grpc_client.aio_channel sends the bearer token on server-streaming calls too."""
    person = tree.register(tree.household(), phone=unique_phone(),
                           preferred_channel=C.CONTACT_CHANNEL_APP)
    notify_db.wait_recipients([person.person_id])
    admin = notify_admin(tree, notification)
    admin.LinkApp(pb.LinkAppRequest(person_id=person.person_id, linked=True))
    tok = token("city_admin", [tree.city_path], subject="app")
    async with aio_channel(notification, tok) as channel:
        stub = notification_pb2_grpc.NotificationServiceStub(channel)
        call = stub.StreamInbox(pb.StreamInboxRequest(recipient_id=person.person_id),
                                timeout=30)
        await call.initial_metadata()
        event_id = aid_events.publish(ev.WarningRaised(
            household_id=person.household_id, case_id=str(uuid.uuid4()),
            level=ev.WARNING_LEVEL_YELLOW, reason="t", person_ids=[person.person_id]),
            tree.grid_paths[0], str(uuid.uuid4()))
        pushed = await call.read()
        call.cancel()
    assert isinstance(pushed, pb.Notice) and pushed.source_event_id == event_id
