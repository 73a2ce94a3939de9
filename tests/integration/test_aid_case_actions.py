"""A case's required actions on the real service: completed with a note, refused input that
changes nothing, a late completion that marks its breach once, and the deadline scan (several at
once, and the service's own periodic one) that marks each overdue action once and announces it."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import psycopg
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from prometheus_client import REGISTRY

import cdsp.events.v1.aid_pb2  # noqa: F401  (registers the payload types)
import devstack
from aid.config import Aid, AidRules
from aid.service.case_actions import scan_case_actions
from cdsp.aid.v1 import aid_pb2 as pb
from cdsp.aid.v1 import aid_pb2_grpc
from cdsp.events.v1 import aid_pb2 as ev
from cdsp.events.v1.envelope_pb2 import Envelope
from runtime.db import Database
from runtime.events import unpack_payload
from tests.aid_helpers import aid_admin, aid_stub, own_aid_process, wait_projected
from tests.events import TopicReader
from tests.helpers import Tree, rpc_error, token, violations
from tests.integration.conftest import AID_ENV

Api = aid_pb2_grpc.AidServiceStub
UNKNOWN = "00000000-0000-4000-8000-00000000cafe"
ACTIONS = ("community_intervention", "insurance_referral", "charity_relief",
           "supermarket_supplies")


def _ts(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _worker(tree: Tree, addr: str, grid: int = 0, role: str = "grid_worker") -> Api:
    return aid_stub(addr, token(role, [tree.grid_paths[grid]], subject=f"gw-{grid}"))


def _case(tree: Tree, stack: devstack.Stack, api: Api, kind: int, amount_fen: int = 0,
          grid: int = 0) -> pb.AidCase:
    """A household of its own with a case opened by one report (income 3,000 yuan)."""
    household = tree.household(grid=grid, income_fen=300_000)
    wait_projected(stack.database_url("aid"), [tree.register(household).person_id])
    reply = api.ReportHardship(pb.ReportHardshipRequest(
        household_id=household.household_id, kind=kind,  # type: ignore[arg-type]
        amount_fen=amount_fen))
    assert reply.HasField("case")
    return reply.case


def _red(tree: Tree, stack: devstack.Stack, api: Api, grid: int = 0) -> pb.AidCase:
    return _case(tree, stack, api, pb.HARDSHIP_KIND_MEDICAL_SPENDING, 150_001, grid)


def _overdue(stack: devstack.Stack, case_id: str, *actions: str) -> None:
    """Moves actions' due time an hour into the past (as the service's own database role)."""
    with psycopg.connect(stack.database_url("aid"), autocommit=True) as conn, \
            conn.transaction():
        conn.execute("SELECT set_config('cdsp.scope', '/%', true)")
        changed = conn.execute("UPDATE case_actions SET due_at = now() - interval '1 hour' "
                               "WHERE case_id = %s AND action = ANY(%s)",
                               [case_id, list(actions)]).rowcount
    assert changed == len(actions)


def _events(stack: devstack.Stack, case_id: str, count: int) -> list[Envelope]:
    reader = TopicReader(stack.kafka_bootstrap, "cdsp.aid.v1")
    try:
        return reader.wait_for(lambda envs: len(envs) >= count, key=case_id)
    finally:
        reader.close()


def _outbox(stack: devstack.Stack, case_ids: list[str]) -> list[tuple[str, str]]:
    """(case id, event name) of every event the aid service recorded for these cases."""
    with psycopg.connect(stack.database_url("aid"), autocommit=True) as conn:
        rows = conn.execute("SELECT record_key, event_type FROM outbox WHERE record_key = "
                            "ANY(%s) ORDER BY id", [case_ids]).fetchall()
    return [(key, name.rsplit(".", 1)[1]) for key, name in rows]


def _breach_counts(metrics_port: int) -> dict[str, float]:
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    page = urllib.request.urlopen(url, timeout=5).read().decode()
    counts = dict.fromkeys(ACTIONS, 0.0)
    for action in ACTIONS:
        prefix = f'cdsp_aid_case_action_breaches_total{{action="{action}"}} '
        counts[action] = sum(float(line[len(prefix):]) for line in page.splitlines()
                             if line.startswith(prefix))
    return counts


def _local_breach_counts() -> dict[str, float]:
    """What the scans run in this test process counted."""
    return {a: REGISTRY.get_sample_value("cdsp_aid_case_action_breaches_total",
                                         {"action": a}) or 0.0 for a in ACTIONS}


def test_complete_actions_with_a_note(tree: Tree, aid: str, stack: devstack.Stack) -> None:
    api = _worker(tree, aid)
    case = _red(tree, stack, api)
    assert [(a.action, a.HasField("completed_at"), a.breached) for a in case.actions] == [
        ("community_intervention", False, False), ("insurance_referral", False, False)]

    before = datetime.now(UTC)
    done = api.CompleteCaseAction(pb.CompleteCaseActionRequest(
        case_id=case.case_id, action="community_intervention", note=" 已上门核实情况 "))
    assert done.version == case.version + 1
    first, second = done.actions
    assert first.action == "community_intervention" and first.completed_by == "gw-0"
    assert first.note == "已上门核实情况" and not first.breached
    assert before <= first.completed_at.ToDatetime(tzinfo=UTC) <= datetime.now(UTC)
    assert not second.HasField("completed_at") and second.completed_by == "" and not second.note

    at = case.opened_at.ToDatetime(tzinfo=UTC) + timedelta(seconds=1)  # given explicitly
    done = api.CompleteCaseAction(pb.CompleteCaseActionRequest(
        case_id=case.case_id, action="insurance_referral", completed_at=_ts(at)))
    assert done.version == case.version + 2
    assert done.actions[1].completed_at.ToDatetime(tzinfo=UTC) == at
    assert api.GetCase(pb.GetCaseRequest(case_id=case.case_id)) == done
    listed = api.ListCases(pb.ListCasesRequest(jurisdiction_path=tree.grid_paths[0]))
    assert list(listed.cases) == [done]
    doctor = _worker(tree, aid, role="family_doctor")  # reads what was done
    assert doctor.GetCase(pb.GetCaseRequest(case_id=case.case_id)) == done

    again = rpc_error(api.CompleteCaseAction, pb.CompleteCaseActionRequest(
        case_id=case.case_id, action="insurance_referral", note="又一次"))
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "insurance_referral was already completed" in (again.details() or "")
    assert api.GetCase(pb.GetCaseRequest(case_id=case.case_id)) == done

    envs = _events(stack, case.case_id, 4)
    assert [(e.event_type.rsplit(".", 1)[1], e.aggregate_version) for e in envs] == [
        ("CaseOpened", 1), ("WarningRaised", 1), ("CaseActionCompleted", 2),
        ("CaseActionCompleted", 3)]
    assert {(e.aggregate_type, e.jurisdiction_path) for e in envs[2:]} == {
        ("aid_case", tree.grid_paths[0])}
    completed = unpack_payload(envs[3])
    assert isinstance(completed, ev.CaseActionCompleted)
    assert (completed.case_id, completed.household_id, completed.action, completed.on_time) == (
        case.case_id, case.household_id, "insurance_referral", True)
    assert completed.completed_at == done.actions[1].completed_at


def test_bad_completions_change_nothing(tree: Tree, aid: str, stack: devstack.Stack) -> None:
    api = _worker(tree, aid)
    case = _case(tree, stack, api, pb.HARDSHIP_KIND_DAILY_SPENDING_GAP, 20_000)
    opened = case.opened_at.ToDatetime(tzinfo=UTC)

    def refused(**fields: Any) -> dict[str, str]:
        error = rpc_error(api.CompleteCaseAction, pb.CompleteCaseActionRequest(
            **{"case_id": case.case_id, "action": "supermarket_supplies", **fields}))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error
        return violations(error)

    names = "must be one of the case's actions: supermarket_supplies"
    assert refused(action="charity_relief") == {"action": names}
    assert refused(action="") == {"action": names}
    assert refused(completed_at=_ts(datetime.now(UTC) + timedelta(hours=1))) == {
        "completed_at": "cannot be in the future"}
    assert refused(completed_at=_ts(opened - timedelta(seconds=1))) == {
        "completed_at": "cannot be before the case was opened"}
    assert refused(note="备" * 1001) == {"note": "at most 1000 characters"}
    assert set(refused(action="x", note="n" * 1001)) == {"action", "note"}
    assert refused(case_id="not-a-case") == {"case_id": "must be a UUID"}

    unknown = rpc_error(api.CompleteCaseAction, pb.CompleteCaseActionRequest(
        case_id=UNKNOWN, action="supermarket_supplies"))
    assert unknown.code() == grpc.StatusCode.NOT_FOUND
    request = pb.CompleteCaseActionRequest(case_id=case.case_id, action="supermarket_supplies")
    for outsider in (_worker(tree, aid, grid=1),                         # another grid
                     _worker(tree, aid, role="family_doctor"),           # reads, never acts
                     _worker(tree, aid, role="volunteer")):
        assert rpc_error(outsider.CompleteCaseAction, request).code() == \
            grpc.StatusCode.PERMISSION_DENIED
    assert api.GetCase(pb.GetCaseRequest(case_id=case.case_id)) == case

    resolved = api.ResolveCase(pb.ResolveCaseRequest(case_id=case.case_id, outcome="已送物资",
                                                     expected_version=case.version))
    closed = rpc_error(api.CompleteCaseAction, request)
    assert closed.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "the case is resolved" in (closed.details() or "")
    assert api.GetCase(pb.GetCaseRequest(case_id=case.case_id)) == resolved
    assert "CaseActionCompleted" not in {name for _, name in _outbox(stack, [case.case_id])}


def test_a_late_completion_marks_the_breach_once(tree: Tree, aid: str,
                                                 stack: devstack.Stack) -> None:
    api = _worker(tree, aid)
    case = _case(tree, stack, api, pb.HARDSHIP_KIND_ACCIDENT)
    assert [a.action for a in case.actions] == ["charity_relief"]
    base = _breach_counts(stack.metrics_port("aid"))
    _overdue(stack, case.case_id, "charity_relief")

    done = api.CompleteCaseAction(pb.CompleteCaseActionRequest(
        case_id=case.case_id, action="charity_relief", note="慈善救助已到位"))
    (action,) = done.actions
    assert action.breached and action.completed_at.ToDatetime() > action.due_at.ToDatetime()
    # Marked once, whether by this completion or by the service's scan just before it.
    after = _breach_counts(stack.metrics_port("aid"))
    assert after["charity_relief"] == base["charity_relief"] + 1
    events = [name for _, name in _outbox(stack, [case.case_id])]
    assert events.count("CaseActionCompleted") == 1 and events.count("CaseActionBreached") <= 1
    completed = unpack_payload(_events(stack, case.case_id, len(events))[-1])
    assert isinstance(completed, ev.CaseActionCompleted) and not completed.on_time


async def test_concurrent_scans_mark_each_overdue_action_once(tree: Tree, aid: str,
                                                              stack: devstack.Stack) -> None:
    api = _worker(tree, aid)
    red = _red(tree, stack, api)
    yellow = _case(tree, stack, api, pb.HARDSHIP_KIND_DAILY_SPENDING_GAP, 20_000)
    done = _case(tree, stack, api, pb.HARDSHIP_KIND_ACCIDENT)      # completed in time
    closed = _case(tree, stack, api, pb.HARDSHIP_KIND_ACCIDENT)    # resolved
    api.CompleteCaseAction(pb.CompleteCaseActionRequest(case_id=done.case_id,
                                                        action="charity_relief"))
    api.ResolveCase(pb.ResolveCaseRequest(case_id=closed.case_id, outcome="已解决",
                                          expected_version=closed.version))
    _overdue(stack, red.case_id, "community_intervention", "insurance_referral")
    _overdue(stack, yellow.case_id, "supermarket_supplies")
    _overdue(stack, done.case_id, "charity_relief")
    _overdue(stack, closed.case_id, "charity_relief")
    base = _breach_counts(stack.metrics_port("aid"))
    local = _local_breach_counts()

    db = Database(stack.database_url("aid"), "aid", 1, 4)
    await db.open()
    try:
        state = Aid(db, AidRules(), ZoneInfo("Asia/Shanghai"))
        await asyncio.gather(*(scan_case_actions(state) for _ in range(3)))  # replicas at once
        assert await scan_case_actions(state) == 0  # nothing left to mark
    finally:
        await db.close()

    # Each overdue open action announced once, whichever scan (the service's or these) won.
    ids = [red.case_id, yellow.case_id, done.case_id, closed.case_id]
    breaches = [key for key, name in _outbox(stack, ids) if name == "CaseActionBreached"]
    assert sorted(breaches) == sorted([red.case_id, red.case_id, yellow.case_id])
    counted = {a: _breach_counts(stack.metrics_port("aid"))[a] - base[a]
               + _local_breach_counts()[a] - local[a] for a in ACTIONS}
    assert counted == {"community_intervention": 1, "insurance_referral": 1,
                       "charity_relief": 0, "supermarket_supplies": 1}

    found = api.GetCase(pb.GetCaseRequest(case_id=red.case_id))
    assert [a.breached for a in found.actions] == [True, True]
    assert found.version == red.version + 2
    assert not api.GetCase(pb.GetCaseRequest(case_id=done.case_id)).actions[0].breached
    assert not api.GetCase(pb.GetCaseRequest(case_id=closed.case_id)).actions[0].breached
    envs = _events(stack, red.case_id, 4)
    assert [(e.event_type.rsplit(".", 1)[1], e.aggregate_version) for e in envs] == [
        ("CaseOpened", 1), ("WarningRaised", 1), ("CaseActionBreached", 2),
        ("CaseActionBreached", 3)]
    payloads = [unpack_payload(e) for e in envs[2:]]
    assert all(isinstance(p, ev.CaseActionBreached) for p in payloads)
    assert sorted((p.action, p.household_id, p.jurisdiction_path, p.due_at)  # type: ignore[attr-defined]
                  for p in payloads) == sorted(
        (a.action, red.household_id, tree.grid_paths[0], a.due_at) for a in found.actions)
    assert {e.actor for e in envs[2:]} == {"system"}

    # A breached action can still be completed: late, and not counted again.
    before = _breach_counts(stack.metrics_port("aid"))
    late = api.CompleteCaseAction(pb.CompleteCaseActionRequest(
        case_id=red.case_id, action="insurance_referral", note="已补办医保转介"))
    assert late.actions[1].breached and late.version == found.version + 1
    assert _breach_counts(stack.metrics_port("aid")) == before


# ---------------------------------------------------------------- the service's own scan

SCAN_ENV = {**AID_ENV, "CDSP_AID_SCAN_S": "1"}


@pytest.fixture
def scanning_aid(stack: devstack.Stack, registry: str) -> Iterator[devstack.Stack]:
    """An aid process of this test's own scanning every second; the session's aid process is
    stopped meanwhile, so this one's scan is the only one."""
    with own_aid_process(stack, "aid-scan", SCAN_ENV, 8, AID_ENV) as mine:
        yield mine


def _wait(what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 15
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def test_the_service_scans_on_its_own(scanning_aid: devstack.Stack, tree: Tree,
                                      stack: devstack.Stack) -> None:
    api = aid_admin(tree, scanning_aid.grpc_addr("aid"))
    case = _case(tree, stack, api, pb.HARDSHIP_KIND_ACCIDENT)
    _overdue(stack, case.case_id, "charity_relief")
    _wait("the service never marked the breach", lambda: api.GetCase(
        pb.GetCaseRequest(case_id=case.case_id)).actions[0].breached)
    assert _breach_counts(scanning_aid.metrics_port("aid"))["charity_relief"] == 1
    envs = _events(stack, case.case_id, 3)
    assert [(e.event_type.rsplit(".", 1)[1], e.aggregate_version) for e in envs] == [
        ("CaseOpened", 1), ("WarningRaised", 1), ("CaseActionBreached", 2)]
    # The following scans leave it alone.
    scans = _scans(scanning_aid)
    _wait("no later scan ran", lambda: _scans(scanning_aid) >= scans + 2)
    assert _breach_counts(scanning_aid.metrics_port("aid"))["charity_relief"] == 1
    assert [name for _, name in _outbox(stack, [case.case_id])].count("CaseActionBreached") == 1


def _scans(stack: devstack.Stack) -> int:
    log = (stack.state_dir / "aid.log").read_text(errors="replace")
    return log.count("job case-action-scan done")
