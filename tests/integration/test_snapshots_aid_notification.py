"""The aid and notification services re-publish the current state of their aggregates as
snapshot events (`python -m runtime.snapshot_cli aid|notification`): each of a test's own
aggregates once, with snapshot set, the version its live events carry, the path it is filed under
and its state, none of the names, phones or text that workers typed; `--only` writes one type;
today's consumers take the new types in and make nothing of them."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable

import grpc
from google.protobuf.message import Message

import devstack
from cdsp.aid.v1 import aid_pb2 as pb
from cdsp.common.v1 import common_pb2 as common
from cdsp.events.v1 import aid_pb2 as ev  # (importing registers the payload types)
from cdsp.events.v1 import notification_pb2 as nev
from cdsp.events.v1.envelope_pb2 import Envelope
from cdsp.notification.v1 import notification_pb2 as npb
from runtime.events import unpack_payload
from runtime.timestamps import to_timestamp
from tests.aid_helpers import aid_admin, relief_ready, wait_projected
from tests.events import TopicReader, wait_group_past
from tests.helpers import Tree, rpc_error
from tests.integration.test_snapshots import snapshot_cli
from tests.notification_helpers import (
    AidEvents,
    NotificationDb,
    ServiceDb,
    notify_admin,
    unique_phone,
)

CAP = 139_500          # 1.5 x the city's minimum living standard of 93,000 fen (tests.helpers)
BUDGET = 1_000_000     # the test session's community budget (CDSP_AID_COMMUNITY_BUDGET_FEN)
NAME = "欧阳快照"
# What workers typed: none of it may leave in a snapshot.
TYPED = {"description": "轮椅坏了快照描述", "team": "快照一队", "result": "已更换快照结果",
         "note": "快照笔记内容", "visit": "快照探访记录", "reason": "快照救助理由"}


def _snapshots(stack: devstack.Stack, topic: str, expected: Callable[[list[Envelope]], bool]
               ) -> list[Envelope]:
    """The snapshot events on the topic, once `expected` holds for them."""
    reader = TopicReader(stack.kafka_bootstrap, topic)
    try:
        found = reader.wait_for(lambda envs: expected([e for e in envs if e.snapshot]))
    finally:
        reader.close()
    return [e for e in found if e.snapshot]


def _of(snapshots: list[Envelope], ids: set[str]) -> dict[str, list[Envelope]]:
    mine: dict[str, list[Envelope]] = {}
    for e in snapshots:
        if e.aggregate_id in ids:
            mine.setdefault(e.aggregate_id, []).append(e)
    return mine


def test_the_aid_service_re_publishes_its_aggregates(
        tree: Tree, stack: devstack.Stack, aid: str, notification: str) -> None:
    household = tree.household(income_fen=300_000)
    person_id = relief_ready(tree, stack.database_url("aid"), household)
    ill = tree.register(household, name=NAME, phone=unique_phone(),
                        priority_groups=["seriously_ill"])
    wait_projected(stack.database_url("aid"), [ill.person_id])
    api = aid_admin(tree, aid)
    grid, path = tree.grids[0], tree.grid_paths[0]

    # A red case: one action completed, one open; relief granted up to the cap, then refused.
    red = api.ReportHardship(pb.ReportHardshipRequest(
        household_id=household.household_id, kind=pb.HARDSHIP_KIND_MEDICAL_SPENDING,
        amount_fen=200_000))
    case = api.CompleteCaseAction(pb.CompleteCaseActionRequest(
        case_id=red.case.case_id, action="community_intervention", note=TYPED["note"]))
    api.GrantRelief(pb.GrantReliefRequest(household_id=household.household_id,
                                          case_id=case.case_id, amount_fen=CAP,
                                          reason=TYPED["reason"]))
    refused = rpc_error(api.GrantRelief, pb.GrantReliefRequest(
        household_id=household.household_id, case_id=case.case_id, amount_fen=1,
        reason=TYPED["reason"]))
    assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION
    # A request through the whole loop.
    rid = api.SubmitRequest(pb.SubmitRequestRequest(
        person_id=person_id, description=TYPED["description"], submitted_online=True)).request_id
    api.DispatchRequest(pb.DispatchRequestRequest(request_id=rid, team=TYPED["team"]))
    api.RecordArrival(pb.RecordArrivalRequest(request_id=rid))
    request = api.ResolveRequest(pb.ResolveRequestRequest(request_id=rid,
                                                          result=TYPED["result"]))
    # Three wheelchairs, two lent, one of them back; a sickbed visit.
    api.ReplenishKit(pb.ReplenishKitRequest(grid_code=grid, item="wheelchair", quantity=3,
                                            lendable=True))
    kept = api.LendKit(pb.LendKitRequest(grid_code=grid, item="wheelchair", person_id=person_id))
    lent = api.LendKit(pb.LendKitRequest(grid_code=grid, item="wheelchair",
                                         person_id=ill.person_id))
    back = api.ReturnKit(pb.ReturnKitRequest(loan_id=lent.loan_id))
    schedule = api.RecordSickbedVisit(pb.RecordSickbedVisitRequest(person_id=ill.person_id,
                                                                   note=TYPED["visit"]))

    db = ServiceDb(stack.database_url("aid"))
    decisions = dict(db.rows("SELECT decision_id::text, granted FROM relief_ledger "
                             "WHERE household_id = %s", [household.household_id]))
    [(budget_id, year)] = db.rows("SELECT community_path || ':' || year, year "
                                  "FROM relief_budgets WHERE community_path = %s",
                                  [tree.community_path])
    [(stock_version,)] = db.rows("SELECT version FROM kit_stock WHERE grid_code = %s "
                                 "AND item = 'wheelchair'", [grid])
    [(schedule_version,)] = db.rows("SELECT version FROM sickbed_schedules WHERE person_id = %s",
                                    [ill.person_id])
    [(dispatched_at,)] = db.rows("SELECT dispatched_at FROM service_requests "
                                 "WHERE request_id = %s", [rid])  # not in the API's message
    stock_id = f"{grid}:wheelchair"
    expected: dict[str, tuple[str, int, str, Message]] = {
        case.case_id: ("aid_case", case.version, path, ev.AidCaseState(
            case_id=case.case_id, household_id=household.household_id,
            level=ev.WARNING_LEVEL_RED, resolved=False, opened_at=case.opened_at,
            relief_granted_fen=CAP,
            actions=[ev.CaseActionState(
                action=a.action, due_at=a.due_at, breached=a.breached,
                completed_at=a.completed_at if a.HasField("completed_at") else None)
                for a in case.actions])),
        rid: ("service_request", request.version, path, ev.ServiceRequestState(
            request_id=rid, person_id=person_id, status=5, submitted_online=True,
            submitted_at=request.submitted_at, arrival_due_at=request.arrival_due_at,
            dispatched_at=to_timestamp(dispatched_at), arrived_at=request.arrived_at,
            resolved_at=request.resolved_at)),
        stock_id: ("kit_stock", stock_version, path, ev.KitStockState(
            grid_code=grid, item="wheelchair", lendable=True, total=3, available=2,
            low_stock_threshold=2)),
        kept.loan_id: ("kit_loan", 1, path, ev.KitLoanState(
            loan_id=kept.loan_id, grid_code=grid, item="wheelchair", person_id=person_id,
            lent_at=kept.lent_at)),
        back.loan_id: ("kit_loan", 1, path, ev.KitLoanState(
            loan_id=back.loan_id, grid_code=grid, item="wheelchair", person_id=ill.person_id,
            lent_at=back.lent_at, returned_at=back.returned_at)),
        ill.person_id: ("sickbed_schedule", schedule_version, path, ev.SickbedScheduleState(
            person_id=ill.person_id, last_visit_at=schedule.last_visit_at,
            next_due_at=schedule.next_due_at)),
        budget_id: ("relief_budget", 1, tree.community_path, ev.ReliefBudgetState(
            community_path=tree.community_path, year=year, total_fen=BUDGET, granted_fen=CAP)),
        **{decision_id: ("relief_decision", 1, path, ev.ReliefDecided(
            decision_id=decision_id, household_id=household.household_id, granted=granted,
            amount_fen=CAP if granted else 1, refusal_limit="" if granted else "per_case_cap",
            excess_fen=0 if granted else 1)) for decision_id, granted in decisions.items()},
    }
    assert len(decisions) == 2 and [a.action for a in case.actions] == [
        "community_intervention", "insurance_referral"]
    assert case.actions[0].completed_by and not case.actions[1].completed_by

    done = snapshot_cli(stack, "aid", "--page", "7")
    assert done.returncode == 0, done.stderr
    counted = {t: int(n) for t, n in (line.split("\t") for line in done.stdout.splitlines())}
    assert set(counted) == {"aid_case", "service_request", "kit_stock", "kit_loan",
                            "sickbed_schedule", "relief_budget", "relief_decision"}
    assert min(counted.values()) >= 1
    snapshots = _snapshots(stack, "cdsp.aid.v1", lambda envs: set(expected) <= {
        e.aggregate_id for e in envs})
    mine = _of(snapshots, set(expected))
    for aggregate_id, (aggregate_type, version, filed_under, state) in expected.items():
        [envelope] = mine[aggregate_id]
        assert (envelope.aggregate_type, envelope.aggregate_version,
                envelope.jurisdiction_path) == (aggregate_type, version, filed_under), aggregate_id
        assert unpack_payload(envelope) == state, aggregate_type
        raw = envelope.SerializeToString()
        for text in (NAME, ill.phone, ill.resident_id, *TYPED.values()):
            assert text.encode() not in raw, (aggregate_type, text)

    # Today's consumers of cdsp.aid.v1 take the snapshot events in, and make nothing of them
    # (no handler takes a snapshot of these types, so they leave no inbox row either).
    ids = [e.event_id for envs in mine.values() for e in envs]
    notify = ServiceDb(stack.database_url("notification"))
    wait_group_past(stack.kafka_bootstrap, "notification-notices", "cdsp.aid.v1")
    assert notify.rows("SELECT count(*) FROM inbox WHERE event_id = ANY(%s::uuid[])",
                       [ids]) == [(0,)]
    assert notify.rows("SELECT count(*) FROM notices WHERE source_event_id = ANY(%s::uuid[])",
                       [ids]) == [(0,)]
    assert notify.rows("SELECT count(*) FROM dead_letter WHERE event_id = ANY(%s)",
                       [ids]) == [(0,)]

    # --only: one type, and nothing else, written again.
    [(before,)] = db.rows("SELECT coalesce(max(id), 0) FROM outbox")
    loans = snapshot_cli(stack, "aid", "--only", "kit_loan")
    assert loans.returncode == 0, loans.stderr
    [(only, count)] = [line.split("\t") for line in loans.stdout.splitlines()]
    written = [Envelope.FromString(bytes(r[0])) for r in db.rows(
        "SELECT envelope FROM outbox WHERE id > %s ORDER BY id", [before])]
    written = [e for e in written if e.snapshot]
    assert only == "kit_loan" and len(written) == int(count) >= 2
    assert {e.aggregate_type for e in written} == {"kit_loan"}
    assert {kept.loan_id, back.loan_id} <= {e.aggregate_id for e in written}


def _closed_port() -> int:
    """A loopback port nothing listens on: a webhook there fails on every try."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_notification_service_re_publishes_its_notices(
        tree: Tree, stack: devstack.Stack, notification: str, notify_db: NotificationDb,
        aid_events: AidEvents) -> None:
    notify_admin(tree, notification).RegisterWebhook(npb.RegisterWebhookRequest(
        url=f"http://127.0.0.1:{_closed_port()}/hook",
        event_types=["cdsp.events.v1.WarningRaised"], jurisdiction_path=tree.grid_paths[0]))
    household = tree.household()
    phone = unique_phone()
    reached = tree.register(household, name=NAME, phone=phone,
                            category=common.DISABILITY_CATEGORY_PHYSICAL)
    unreachable = tree.register(household, name=NAME, phone="",
                                preferred_channel=common.CONTACT_CHANNEL_APP)
    notify_db.wait_recipients([reached.person_id, unreachable.person_id])
    event_id = aid_events.publish(ev.WarningRaised(
        household_id=household.household_id, case_id=str(uuid.uuid4()),
        level=ev.WARNING_LEVEL_RED, reason="test",
        person_ids=[reached.person_id, unreachable.person_id]), tree.grid_paths[0],
        str(uuid.uuid4()))
    notify_db.settled(event_id)

    notices = {r[0]: r[1:] for r in notify_db.rows(
        "SELECT notice_id::text, recipient_kind, recipient_id, undeliverable_reason <> '', "
        "urgent, version, jurisdiction_path FROM notices WHERE source_event_id = %s",
        [event_id])}
    deliveries = notify_db.rows(
        "SELECT notice_id::text, channel, status, attempts, sent_at IS NOT NULL, "
        "delivered_at IS NOT NULL, webhook_id IS NOT NULL FROM deliveries "
        "WHERE notice_id = ANY(%s::uuid[]) ORDER BY channel, delivery_id", [list(notices)])
    by_recipient = {(kind, who): notice_id for notice_id, (kind, who, *_) in notices.items()}
    resident = by_recipient[("resident", reached.person_id)]
    nobody = by_recipient[("resident", unreachable.person_id)]
    team = by_recipient[("grid_team", tree.grid_paths[0])]
    assert set(by_recipient) == {("resident", reached.person_id),
                                 ("resident", unreachable.person_id),
                                 ("grid_team", tree.grid_paths[0])}

    done = snapshot_cli(stack, "notification", "--page", "7")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("notice\t")

    def announced(envs: list[Envelope]) -> bool:
        """Every notice's snapshot is there, and its live events up to its version."""
        latest: dict[str, int] = {}
        for e in envs:
            if not e.snapshot:
                latest[e.aggregate_id] = max(latest.get(e.aggregate_id, 0), e.aggregate_version)
        return set(notices) <= {e.aggregate_id for e in envs if e.snapshot} and all(
            latest.get(n) == version for n, (*_, version, _) in notices.items())

    reader = TopicReader(stack.kafka_bootstrap, "cdsp.notification.v1")
    try:
        found = reader.wait_for(announced)
    finally:
        reader.close()
    states: dict[str, nev.NoticeState] = {}
    for notice_id, [envelope] in _of([e for e in found if e.snapshot], set(notices)).items():
        kind, who, undeliverable, urgent, version, path = notices[notice_id]
        # The version of the notice's latest live event (announced), the path it is filed under.
        assert (envelope.aggregate_type, envelope.aggregate_version,
                envelope.jurisdiction_path) == ("notice", version, path)
        state = unpack_payload(envelope)
        assert isinstance(state, nev.NoticeState)
        assert (state.notice_id, state.source_event_id, state.recipient_kind,
                state.recipient_id, state.undeliverable, state.urgent) == (
            notice_id, event_id, kind, who, undeliverable, urgent)
        assert (state.source_event_type, state.rule, state.template) == (
            "cdsp.events.v1.WarningRaised", "red_warning", "warning_raised")
        assert [(d.channel, d.status, d.attempts, d.HasField("sent_at"),
                 d.HasField("delivered_at"), d.webhook_id != "") for d in state.deliveries] == [
            tuple(r[1:]) for r in deliveries if r[0] == notice_id]
        raw = envelope.SerializeToString()
        for text in (NAME, phone, reached.resident_id):
            assert text.encode() not in raw, (kind, text)
        states[notice_id] = state
    assert set(states) == set(notices)

    def channels(notice_id: str) -> dict[str, tuple[int, int]]:
        return {d.channel: (d.status, d.attempts) for d in states[notice_id].deliveries}

    assert channels(resident) == {"sms": (2, 1)}                     # sent
    assert channels(team) == {"inbox": (3, 1), "webhook": (4, 4)}    # delivered; failed
    assert channels(nobody) == {} and states[nobody].undeliverable
    assert notices[nobody][4] == 1  # its one event: NoticeFailed (undeliverable)
