"""The 30-minute response loop on the real services: an urgent request submitted for a projected
person, dispatched, on site, resolved or escalated to the association meeting; its events on
cdsp.aid.v1; refused steps that change nothing; and a breached deadline found by a scan after the
service was down while the deadline passed."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import psycopg
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

import cdsp.events.v1.aid_pb2  # noqa: F401  (registers the payload types)
import devstack
from cdsp.aid.v1 import aid_pb2 as pb
from cdsp.aid.v1 import aid_pb2_grpc
from cdsp.events.v1 import aid_pb2 as ev
from cdsp.events.v1.envelope_pb2 import Envelope
from runtime.events import unpack_payload
from tests.aid_helpers import aid_admin, aid_stub, own_aid_process, wait_projected
from tests.events import TopicReader
from tests.helpers import Tree, rpc_error, token, violations
from tests.integration.conftest import AID_ENV

Api = aid_pb2_grpc.AidServiceStub
UNKNOWN = "00000000-0000-4000-8000-00000000abcd"


def _person(tree: Tree, stack: devstack.Stack, grid: int = 0) -> str:
    person_id: str = tree.register(tree.household(grid)).person_id
    wait_projected(stack.database_url("aid"), [person_id])
    return person_id


def _worker(tree: Tree, addr: str, grid: int = 0, role: str = "grid_worker") -> Api:
    return aid_stub(addr, token(role, [tree.grid_paths[grid]], subject=f"gw-{grid}"))


def _events(stack: devstack.Stack, key: str, count: int) -> list[tuple[str, int]]:
    return [(e.event_type.rsplit(".", 1)[1], e.aggregate_version)
            for e in _envelopes(stack, key, count)]


def _envelopes(stack: devstack.Stack, key: str, count: int) -> list[Envelope]:
    reader = TopicReader(stack.kafka_bootstrap, "cdsp.aid.v1")
    try:
        return reader.wait_for(lambda envs: len(envs) >= count, key=key)
    finally:
        reader.close()


def _ts(moment: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(moment)
    return ts


def test_the_loop_submit_dispatch_arrive_resolve(tree: Tree, aid: str,
                                                 stack: devstack.Stack) -> None:
    person_id = _person(tree, stack)
    api = _worker(tree, aid)

    submitted = api.SubmitRequest(pb.SubmitRequestRequest(
        person_id=person_id, description=" 轮椅坏了，无法出门 ", submitted_online=True))
    rid = submitted.request_id
    assert submitted.status == pb.REQUEST_STATUS_SUBMITTED and submitted.version == 1
    assert submitted.person_id == person_id and submitted.jurisdiction_path == tree.grid_paths[0]
    assert submitted.description == "轮椅坏了，无法出门" and submitted.submitted_online
    assert (submitted.arrival_due_at.ToDatetime() - submitted.submitted_at.ToDatetime()
            == timedelta(minutes=30))
    assert not submitted.HasField("arrived_at") and not submitted.arrival_breached
    assert api.GetRequest(pb.GetRequestRequest(request_id=rid)) == submitted

    dispatched = api.DispatchRequest(pb.DispatchRequestRequest(request_id=rid, team="网格一队"))
    assert (dispatched.status, dispatched.team, dispatched.version) == (
        pb.REQUEST_STATUS_DISPATCHED, "网格一队", 2)
    assert api.GetRequest(pb.GetRequestRequest(request_id=rid)) == dispatched

    arrived = api.RecordArrival(pb.RecordArrivalRequest(request_id=rid))
    assert arrived.status == pb.REQUEST_STATUS_ON_SITE and arrived.version == 3
    assert arrived.HasField("arrived_at") and not arrived.arrival_breached
    assert arrived.arrived_at.ToDatetime() <= arrived.arrival_due_at.ToDatetime()
    assert api.GetRequest(pb.GetRequestRequest(request_id=rid)) == arrived

    resolved = api.ResolveRequest(pb.ResolveRequestRequest(request_id=rid,
                                                           result="已更换轮椅内胎"))
    assert (resolved.status, resolved.result, resolved.version) == (
        pb.REQUEST_STATUS_RESOLVED, "已更换轮椅内胎", 4)
    assert resolved.HasField("resolved_at") and not resolved.HasField("meeting_due_at")
    # Progress and result are readable by those who only read, too.
    doctor = _worker(tree, aid, role="family_doctor")
    assert doctor.GetRequest(pb.GetRequestRequest(request_id=rid)) == resolved

    envs = _envelopes(stack, rid, 3)
    assert [(e.event_type.rsplit(".", 1)[1], e.aggregate_version) for e in envs] == [
        ("RequestDispatched", 2), ("RequestArrived", 3), ("RequestResolved", 4)]
    assert {(e.aggregate_type, e.jurisdiction_path, e.producer) for e in envs} == {
        ("service_request", tree.grid_paths[0], "aid")}
    sent, came, done = (unpack_payload(e) for e in envs)
    assert isinstance(sent, ev.RequestDispatched) and sent.team == "网格一队"
    assert sent.arrival_due_at == submitted.arrival_due_at
    assert isinstance(came, ev.RequestArrived) and came.on_time
    assert isinstance(done, ev.RequestResolved) and done.result == "已更换轮椅内胎"

    compliance = api.GetSlaCompliance(pb.GetSlaComplianceRequest(
        jurisdiction_path=tree.grid_paths[0]))
    assert compliance == pb.SlaCompliance(
        jurisdiction_path=tree.grid_paths[0], requests_due=1, arrived_on_time=1,
        arrival_compliance=1.0, submitted_online=1, submitted_total=1)


def test_escalation_to_the_association_meeting(tree: Tree, aid: str,
                                               stack: devstack.Stack) -> None:
    person_id = _person(tree, stack)
    api = aid_admin(tree, aid)
    rid = api.SubmitRequest(pb.SubmitRequestRequest(person_id=person_id,
                                                    description="家中断粮")).request_id
    api.DispatchRequest(pb.DispatchRequestRequest(request_id=rid, team="网格一队"))
    at = datetime.now(UTC)  # given explicitly this time
    arrived = api.RecordArrival(pb.RecordArrivalRequest(request_id=rid, arrived_at=_ts(at)))
    assert arrived.arrived_at.ToDatetime(tzinfo=UTC) == at and not arrived.arrival_breached

    before = datetime.now(UTC)
    escalated = api.EscalateRequest(pb.EscalateRequestRequest(request_id=rid,
                                                              reason="需要临时救助，现场无法解决"))
    assert escalated.status == pb.REQUEST_STATUS_ESCALATED and escalated.version == 4
    meeting_due = escalated.meeting_due_at.ToDatetime(tzinfo=UTC)
    assert before + timedelta(hours=24) <= meeting_due <= datetime.now(UTC) + timedelta(hours=24)
    assert api.GetRequest(pb.GetRequestRequest(request_id=rid)) == escalated

    resolved = api.ResolveRequest(pb.ResolveRequestRequest(request_id=rid,
                                                           result="协会会议决定发放临时救助"))
    assert resolved.status == pb.REQUEST_STATUS_RESOLVED and resolved.version == 5
    assert resolved.meeting_due_at == escalated.meeting_due_at and not resolved.meeting_breached

    envs = _envelopes(stack, rid, 4)
    assert [(e.event_type.rsplit(".", 1)[1], e.aggregate_version) for e in envs] == [
        ("RequestDispatched", 2), ("RequestArrived", 3), ("RequestEscalated", 4),
        ("RequestResolved", 5)]
    raised = unpack_payload(envs[2])
    assert isinstance(raised, ev.RequestEscalated)
    assert raised.request_id == rid and raised.meeting_due_at == escalated.meeting_due_at

    compliance = api.GetSlaCompliance(pb.GetSlaComplianceRequest())
    assert compliance == pb.SlaCompliance(
        jurisdiction_path=tree.city_path, requests_due=1, arrived_on_time=1,
        arrival_compliance=1.0, escalations_due=1, meetings_on_time=1, submitted_online=0,
        submitted_total=1)
    # A period that starts after the request counts nothing, and nothing due is full compliance.
    later = api.GetSlaCompliance(pb.GetSlaComplianceRequest(
        jurisdiction_path=tree.community_path, since=_ts(datetime.now(UTC))))
    assert (later.requests_due, later.submitted_total, later.arrival_compliance) == (0, 0, 1.0)


STEPS: dict[str, Callable[[Api, str], Any]] = {
    "dispatch": lambda api, rid: api.DispatchRequest(
        pb.DispatchRequestRequest(request_id=rid, team="网格二队")),
    "arrive": lambda api, rid: api.RecordArrival(pb.RecordArrivalRequest(request_id=rid)),
    "escalate": lambda api, rid: api.EscalateRequest(
        pb.EscalateRequestRequest(request_id=rid, reason="无法解决")),
    "resolve": lambda api, rid: api.ResolveRequest(
        pb.ResolveRequestRequest(request_id=rid, result="好了")),
}
# The steps that lead to each status, and the steps allowed from it.
PATHS = {"submitted": [], "dispatched": ["dispatch"], "on site": ["dispatch", "arrive"],
         "escalated": ["dispatch", "arrive", "escalate"],
         "resolved": ["dispatch", "arrive", "resolve"]}
ALLOWED = {"submitted": {"dispatch"}, "dispatched": {"arrive"},
           "on site": {"escalate", "resolve"}, "escalated": {"resolve"}, "resolved": set()}


def test_every_step_out_of_order_is_refused_and_changes_nothing(tree: Tree, aid: str,
                                                                stack: devstack.Stack) -> None:
    person_id = _person(tree, stack)
    api = _worker(tree, aid)
    refused = 0
    for status, path in PATHS.items():
        rid = api.SubmitRequest(pb.SubmitRequestRequest(
            person_id=person_id, description=f"到{status}")).request_id
        for step in path:
            STEPS[step](api, rid)
        before = api.GetRequest(pb.GetRequestRequest(request_id=rid))
        for step in STEPS.keys() - ALLOWED[status]:
            error = rpc_error(STEPS[step], api, rid)
            assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, (status, step)
            assert f"that is {status}" in error.details(), error.details()
            assert api.GetRequest(pb.GetRequestRequest(request_id=rid)) == before
            refused += 1
    assert refused == 15


def test_bad_input_names_the_field_and_changes_nothing(tree: Tree, aid: str,
                                                       stack: devstack.Stack) -> None:
    person_id = _person(tree, stack)
    api = _worker(tree, aid)

    def field_of(call: Callable[..., Any], request: Any) -> set[str]:
        error = rpc_error(call, request)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error
        return set(violations(error))

    assert field_of(api.SubmitRequest, pb.SubmitRequestRequest(
        person_id=person_id, description="  ")) == {"description"}
    assert field_of(api.SubmitRequest, pb.SubmitRequestRequest(
        person_id=person_id, description="x" * 1001)) == {"description"}
    assert field_of(api.SubmitRequest, pb.SubmitRequestRequest(
        person_id="not-a-uuid", description="d")) == {"person_id"}

    submitted = api.SubmitRequest(pb.SubmitRequestRequest(person_id=person_id,
                                                          description="d"))
    rid = submitted.request_id
    assert field_of(api.DispatchRequest, pb.DispatchRequestRequest(
        request_id=rid, team="")) == {"team"}
    assert field_of(api.DispatchRequest, pb.DispatchRequestRequest(
        request_id=rid, team="t" * 101)) == {"team"}
    assert field_of(api.DispatchRequest, pb.DispatchRequestRequest(
        request_id="42", team="t")) == {"request_id"}
    api.DispatchRequest(pb.DispatchRequestRequest(request_id=rid, team="t" * 100))
    assert field_of(api.RecordArrival, pb.RecordArrivalRequest(
        request_id=rid, arrived_at=_ts(datetime.now(UTC) + timedelta(hours=1)))) == {
        "arrived_at"}
    assert field_of(api.RecordArrival, pb.RecordArrivalRequest(
        request_id=rid, arrived_at=_ts(datetime.now(UTC) - timedelta(days=1)))) == {
        "arrived_at"}
    # After the submission but before the dispatch (the dispatch came later, in its own call).
    early = rpc_error(api.RecordArrival, pb.RecordArrivalRequest(
        request_id=rid, arrived_at=submitted.submitted_at))
    assert early.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(early) == {"arrived_at": "cannot be before the team was dispatched"}
    future = rpc_error(api.RecordArrival, pb.RecordArrivalRequest(
        request_id=rid, arrived_at=_ts(datetime.now(UTC) + timedelta(minutes=10))))
    assert violations(future) == {"arrived_at": "cannot be in the future"}
    api.RecordArrival(pb.RecordArrivalRequest(request_id=rid))
    assert field_of(api.EscalateRequest, pb.EscalateRequestRequest(request_id=rid)) == {
        "reason"}
    assert field_of(api.ResolveRequest, pb.ResolveRequestRequest(request_id=rid)) == {"result"}
    assert field_of(api.ResolveRequest, pb.ResolveRequestRequest(
        request_id=rid, result="r" * 2001)) == {"result"}
    assert field_of(api.GetSlaCompliance, pb.GetSlaComplianceRequest(
        jurisdiction_path="no-slashes")) == {"jurisdiction_path"}
    assert field_of(api.GetSlaCompliance, pb.GetSlaComplianceRequest(
        since=_ts(datetime.now(UTC) + timedelta(days=1)))) == {"since"}

    after = api.GetRequest(pb.GetRequestRequest(request_id=rid))
    assert after.status == pb.REQUEST_STATUS_ON_SITE and after.version == 3
    assert api.GetSlaCompliance(pb.GetSlaComplianceRequest()).submitted_total == 1


def test_unknown_outside_and_roles(tree: Tree, aid: str, stack: devstack.Stack) -> None:
    person_id = _person(tree, stack)
    mine, other_grid = _worker(tree, aid), _worker(tree, aid, grid=1)

    for call, request in [
        (mine.GetRequest, pb.GetRequestRequest(request_id=UNKNOWN)),
        (mine.DispatchRequest, pb.DispatchRequestRequest(request_id=UNKNOWN, team="t")),
        (mine.ResolveRequest, pb.ResolveRequestRequest(request_id=UNKNOWN, result="r")),
        (mine.SubmitRequest, pb.SubmitRequestRequest(person_id=UNKNOWN, description="d")),
    ]:
        assert rpc_error(call, request).code() == grpc.StatusCode.NOT_FOUND

    outside = rpc_error(other_grid.SubmitRequest, pb.SubmitRequestRequest(
        person_id=person_id, description="d"))
    assert outside.code() == grpc.StatusCode.PERMISSION_DENIED
    rid = mine.SubmitRequest(pb.SubmitRequestRequest(person_id=person_id,
                                                     description="d")).request_id
    for call, request in [
        (other_grid.GetRequest, pb.GetRequestRequest(request_id=rid)),
        (other_grid.DispatchRequest, pb.DispatchRequestRequest(request_id=rid, team="t")),
        (other_grid.GetSlaCompliance, pb.GetSlaComplianceRequest(
            jurisdiction_path=tree.grid_paths[0])),
    ]:
        assert rpc_error(call, request).code() == grpc.StatusCode.PERMISSION_DENIED
    # The other grid's compliance does not see this grid's request.
    assert other_grid.GetSlaCompliance(pb.GetSlaComplianceRequest()).submitted_total == 0

    doctor = _worker(tree, aid, role="family_doctor")  # reads, never acts
    assert doctor.GetRequest(pb.GetRequestRequest(request_id=rid)).version == 1
    assert doctor.GetSlaCompliance(pb.GetSlaComplianceRequest()).submitted_total == 1
    denied = rpc_error(doctor.DispatchRequest, pb.DispatchRequestRequest(request_id=rid,
                                                                         team="t"))
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    volunteer = _worker(tree, aid, role="volunteer")
    assert rpc_error(volunteer.GetRequest, pb.GetRequestRequest(
        request_id=rid)).code() == grpc.StatusCode.PERMISSION_DENIED
    assert mine.GetRequest(pb.GetRequestRequest(request_id=rid)).version == 1


# ---------------------------------------------------------------- a breach across a restart

SLA_ENV = {"CDSP_AID_ARRIVAL_SLA_S": "2", "CDSP_AID_SCAN_S": "1", "CDSP_SHUTDOWN_GRACE_S": "5"}


@pytest.fixture
def sla_aid(stack: devstack.Stack, registry: str) -> Iterator[devstack.Stack]:
    """An aid process of this test's own with a 2-second arrival SLA, sharing the aid database.
    The session's aid process is stopped meanwhile: its scan reads the same rows and would
    otherwise race ours to mark the breach."""
    with own_aid_process(stack, "aid-sla", SLA_ENV, 7, AID_ENV) as mine:
        yield mine


def _breaches(stack: devstack.Stack, deadline: str) -> float:
    url = f"http://127.0.0.1:{stack.metrics_port('aid')}/metrics"
    page = urllib.request.urlopen(url, timeout=5).read().decode()
    prefix = f'cdsp_aid_sla_breaches_total{{deadline="{deadline}"}} '
    return sum(float(line[len(prefix):]) for line in page.splitlines()
               if line.startswith(prefix))


def _stored_breach(stack: devstack.Stack, rid: str) -> bool:
    with psycopg.connect(stack.database_url("aid"), autocommit=True) as conn, \
            conn.transaction():
        conn.execute("SELECT set_config('cdsp.scope', '/%', true)")
        row = conn.execute("SELECT arrival_breached FROM service_requests "
                           "WHERE request_id = %s", [rid]).fetchone()
    assert row is not None
    return bool(row[0])


def test_an_sla_breach_is_found_after_a_service_restart(sla_aid: devstack.Stack, tree: Tree,
                                                        stack: devstack.Stack) -> None:
    addr = sla_aid.grpc_addr("aid")
    person_id = _person(tree, stack)
    api = aid_admin(tree, addr)
    submitted = api.SubmitRequest(pb.SubmitRequestRequest(person_id=person_id,
                                                          description="老人摔倒"))
    rid = submitted.request_id
    api.DispatchRequest(pb.DispatchRequestRequest(request_id=rid, team="网格一队"))
    due = submitted.arrival_due_at.ToDatetime(tzinfo=UTC)
    assert due - submitted.submitted_at.ToDatetime(tzinfo=UTC) == timedelta(seconds=2)

    devstack.stop_service(sla_aid, "aid")  # down before the deadline: no scan could mark it
    assert not _stored_breach(stack, rid)
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 0.5)
    assert not _stored_breach(stack, rid)  # the deadline passed while nothing was running

    devstack.start_service(sla_aid, "aid", SLA_ENV)  # its scan runs at start-up
    api = aid_admin(tree, addr)
    deadline = time.monotonic() + 15
    while not (found := api.GetRequest(pb.GetRequestRequest(request_id=rid))).arrival_breached:
        assert time.monotonic() < deadline, "the restarted service never marked the breach"
        time.sleep(0.2)
    assert found.status == pb.REQUEST_STATUS_DISPATCHED and found.version == 3

    envs = _envelopes(stack, rid, 2)
    assert [(e.event_type.rsplit(".", 1)[1], e.aggregate_version) for e in envs] == [
        ("RequestDispatched", 2), ("SlaBreached", 3)]
    breach = unpack_payload(envs[1])
    assert isinstance(breach, ev.SlaBreached)
    assert (breach.request_id, breach.deadline, breach.jurisdiction_path) == (
        rid, "arrival", tree.grid_paths[0])
    assert breach.due_at == submitted.arrival_due_at
    assert envs[1].actor == "system"
    assert _breaches(sla_aid, "arrival") == 1
    assert _breaches(sla_aid, "meeting") == 0

    compliance = api.GetSlaCompliance(pb.GetSlaComplianceRequest(
        jurisdiction_path=tree.community_path))
    assert (compliance.requests_due, compliance.arrived_on_time,
            compliance.arrival_compliance) == (1, 0, 0.0)

    # The team still arrives, late: recorded, not counted as a second breach.
    arrived = api.RecordArrival(pb.RecordArrivalRequest(request_id=rid))
    assert arrived.status == pb.REQUEST_STATUS_ON_SITE and arrived.arrival_breached
    envs = _envelopes(stack, rid, 3)
    late = unpack_payload(envs[2])
    assert isinstance(late, ev.RequestArrived) and not late.on_time
    assert _breaches(sla_aid, "arrival") == 1
    assert api.GetSlaCompliance(pb.GetSlaComplianceRequest(
        jurisdiction_path=tree.community_path)).arrival_compliance == 0.0
    # The restarted service follows the registry's events again. (This also keeps it running
    # until its consumer has joined the group: one stopped in the middle of joining leaves the
    # group waiting for it, and the next member would wait with it.)
    _person(tree, stack)


def _gauge(stack: devstack.Stack, series: str) -> float | None:
    url = f"http://127.0.0.1:{stack.metrics_port('aid')}/metrics"
    page = urllib.request.urlopen(url, timeout=5).read().decode()
    values = [float(line[len(series) + 1:]) for line in page.splitlines()
              if line.startswith(series + " ")]
    return values[0] if values else None


def _wait_gauge(stack: devstack.Stack, series: str, want: float) -> None:
    deadline = time.monotonic() + 15
    while (have := _gauge(stack, series)) != want:
        assert time.monotonic() < deadline, f"{series} is {have}, expected {want}"
        time.sleep(0.2)


def test_dashboard_gauges_follow_open_cases_and_deadlines(sla_aid: devstack.Stack, tree: Tree,
                                                          stack: devstack.Stack) -> None:
    """cdsp_aid_open_cases and cdsp_aid_sla_deadlines (the domain dashboard's open cases by
    level and SLA compliance) are read from the database, city-wide, every scan interval."""
    yellow, red = 'cdsp_aid_open_cases{level="yellow"}', 'cdsp_aid_open_cases{level="red"}'
    late = 'cdsp_aid_sla_deadlines{deadline="arrival",outcome="late"}'
    on_time = 'cdsp_aid_sla_deadlines{deadline="arrival",outcome="on_time"}'
    deadline = time.monotonic() + 15
    while _gauge(sla_aid, late) is None:  # the first refresh runs at start-up
        assert time.monotonic() < deadline, "the gauges never appeared"
        time.sleep(0.2)
    base = {s: _gauge(sla_aid, s) or 0.0 for s in (yellow, red, late, on_time)}

    addr = sla_aid.grpc_addr("aid")
    api = aid_admin(tree, addr)
    household = tree.household(income_fen=300_000)
    wait_projected(stack.database_url("aid"), [tree.register(household).person_id])
    api.ReportHardship(pb.ReportHardshipRequest(
        household_id=household.household_id, kind=pb.HARDSHIP_KIND_DAILY_SPENDING_GAP,
        amount_fen=20_000))
    _wait_gauge(sla_aid, yellow, base[yellow] + 1)
    api.ReportHardship(pb.ReportHardshipRequest(
        household_id=household.household_id, kind=pb.HARDSHIP_KIND_MEDICAL_SPENDING,
        amount_fen=150_001))  # the same case, raised to red
    _wait_gauge(sla_aid, red, base[red] + 1)
    assert _gauge(sla_aid, yellow) == base[yellow]

    slow = api.SubmitRequest(pb.SubmitRequestRequest(person_id=_person(tree, stack),
                                                     description="停电求助"))
    quick = api.SubmitRequest(pb.SubmitRequestRequest(person_id=_person(tree, stack),
                                                      description="轮椅故障"))
    for rid in (slow.request_id, quick.request_id):
        api.DispatchRequest(pb.DispatchRequestRequest(request_id=rid, team="网格一队"))
    api.RecordArrival(pb.RecordArrivalRequest(request_id=quick.request_id))
    _wait_gauge(sla_aid, on_time, base[on_time] + 1)
    _wait_gauge(sla_aid, late, base[late] + 1)  # the 2-second deadline passed without arrival
