"""The aid part of `make demo`: on the sample community, a hardship report raises a red warning
and opens a case, one of the case's required actions is completed, relief is granted on the case
and a further grant that would take the case past its cap refused, and the aid events are read
back from the broker."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

import grpc
from demo_checks import check, expect_error
from kafka import KafkaConsumer

import devstack
from cdsp.aid.v1 import aid_pb2 as pb
from cdsp.aid.v1.aid_pb2_grpc import AidServiceStub
from cdsp.events.v1 import aid_pb2 as ev  # also registers the payload types
from cdsp.events.v1.envelope_pb2 import Envelope
from cdsp.registry.v1 import registry_pb2 as rpb
from cdsp.registry.v1.registry_pb2_grpc import RegistryServiceStub
from runtime.grpc_client import sync_channel

LEVELS = {0: "none", 1: "yellow 黄", 2: "orange 橙", 3: "red 红"}
T = TypeVar("T")


def _yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d} yuan"


def _report_when_projected(aid: AidServiceStub, request: pb.ReportHardshipRequest
                           ) -> pb.ReportHardshipResponse:
    """The aid service learns households from the registry's events: retry while it has not."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return aid.ReportHardship(request)  # type: ignore[no-any-return]
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _when_standard_known(call: Callable[[], T]) -> T:
    """The aid service learns the minimum living standard from the registry's jurisdiction
    events: retry while it has not."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return call()
        except grpc.RpcError as exc:
            if ("no minimum living standard" not in (exc.details() or "")
                    or time.monotonic() > deadline):
                raise
            time.sleep(0.5)


def run(stack: devstack.Stack, sample: dict[str, Any], admin_token: str) -> None:
    community = sample["community_path"]
    worker = stack.token("cw-01", "community_worker", [community])
    aid = AidServiceStub(sync_channel(stack.grpc_addr("aid"), worker))
    registry = RegistryServiceStub(sync_channel(stack.grpc_addr("registry"), admin_token))
    household = registry.GetHousehold(rpb.GetHouseholdRequest(
        household_id=sample["households"][0]))
    spending = household.monthly_income_fen * 6 // 10 + 1
    print(f"\n=== 救助预警 Aid warning (community worker cw-01, scope {community})")
    print(f"  household income {_yuan(household.monthly_income_fen)}/month; medical spending "
          f"reported {_yuan(spending)}/month (just over 60%)")
    reply = _report_when_projected(aid, pb.ReportHardshipRequest(
        household_id=household.household_id, kind=pb.HARDSHIP_KIND_MEDICAL_SPENDING,
        amount_fen=spending, description="住院自付费用"))
    case = reply.case
    check(reply.level == ev.WARNING_LEVEL_RED, f"warning level {LEVELS[reply.level]}: "
                                               f"{reply.reason}")
    check(case.level == ev.WARNING_LEVEL_RED and bool(case.case_id),
          f"case {case.case_id[:8]}… requires " + ", ".join(
              f"{a.action} by {a.due_at.ToDatetime():%m-%d %H:%M} UTC" for a in case.actions))
    done = aid.CompleteCaseAction(pb.CompleteCaseActionRequest(
        case_id=case.case_id, action=case.actions[0].action, note="网格员已上门核实情况"))
    first = done.actions[0]
    check(first.HasField("completed_at") and not first.breached,
          f"{first.action} done on time by {first.completed_by}: {first.note}")
    expect_error(grpc.StatusCode.FAILED_PRECONDITION, lambda: aid.CompleteCaseAction(
        pb.CompleteCaseActionRequest(case_id=case.case_id, action=first.action)),
        f"complete {first.action} twice")

    print("\n=== 临时救助 Temporary relief on the case (all its grants together at most 1.5 x the "
          "minimum living standard the registry holds for the city)")
    granted = _when_standard_known(lambda: aid.GrantRelief(pb.GrantReliefRequest(
        household_id=household.household_id, amount_fen=100_000, reason="临时救助",
        case_id=case.case_id)))
    check(granted.granted and granted.case_id == case.case_id,
          f"granted {_yuan(granted.amount_fen)} on the case: {_yuan(granted.case_granted_fen)} "
          f"of its cap of {_yuan(granted.case_cap_fen)}; the community's budget has "
          f"{_yuan(granted.budget_remaining_fen)} left this year")
    more = granted.case_cap_fen - granted.case_granted_fen + 10_000
    expect_error(grpc.StatusCode.FAILED_PRECONDITION, lambda: aid.GrantRelief(
        pb.GrantReliefRequest(household_id=household.household_id, amount_fen=more,
                              reason="再次救助", case_id=case.case_id)),
        f"grant {_yuan(more)} more on the same case")
    _service_loop(aid, sample, community)
    _kits(aid, sample)
    resolved = aid.ResolveCase(pb.ResolveCaseRequest(
        case_id=case.case_id, outcome="二次报销已办理，临时救助已发放",
        expected_version=aid.GetCase(pb.GetCaseRequest(case_id=case.case_id)).version))
    check(resolved.status == pb.CASE_STATUS_RESOLVED, "the case is resolved with its outcome "
                                                     "fed back")
    _events(stack.kafka_bootstrap, case.case_id)


def _service_loop(aid: AidServiceStub, sample: dict[str, Any], community: str) -> None:
    print("\n=== 30分钟响应 Online order, offline dispatch, result feedback")
    person = sample["persons"][0]
    submitted = aid.SubmitRequest(pb.SubmitRequestRequest(
        person_id=person, description="轮椅损坏，无法出门就医", submitted_online=True))
    due = submitted.arrival_due_at.ToDatetime() - submitted.submitted_at.ToDatetime()
    print(f"  submitted online; the grid team is due on site within {due}")
    aid.DispatchRequest(pb.DispatchRequestRequest(request_id=submitted.request_id,
                                                  team="一网格服务队"))
    arrived = aid.RecordArrival(pb.RecordArrivalRequest(request_id=submitted.request_id))
    check(arrived.status == pb.REQUEST_STATUS_ON_SITE and not arrived.arrival_breached,
          "dispatched, and on site within 30 minutes")
    resolved = aid.ResolveRequest(pb.ResolveRequestRequest(
        request_id=submitted.request_id, result="已更换应急轮椅，陪同就医"))
    progress = aid.GetRequest(pb.GetRequestRequest(request_id=submitted.request_id))
    check(progress.status == pb.REQUEST_STATUS_RESOLVED and progress.result == resolved.result,
          f"the requester sees the result: {progress.result}")
    expect_error(grpc.StatusCode.FAILED_PRECONDITION, lambda: aid.ResolveRequest(
        pb.ResolveRequestRequest(request_id=submitted.request_id, result="again")),
        "resolve the same request twice")
    sla = aid.GetSlaCompliance(pb.GetSlaComplianceRequest(jurisdiction_path=community))
    print(f"  SLA this month: {sla.arrived_on_time} of {sla.requests_due} on time "
          f"({sla.arrival_compliance:.0%}); ordered online {sla.submitted_online} of "
          f"{sla.submitted_total}")


def _kits(aid: AidServiceStub, sample: dict[str, Any]) -> None:
    grid = next(iter(sample["grids"]))
    print(f"\n=== 暖心应急包 Emergency kits of grid {grid}")
    stock = aid.ReplenishKit(pb.ReplenishKitRequest(grid_code=grid, item="wheelchair",
                                                   quantity=2, lendable=True,
                                                   low_stock_threshold=1))
    print(f"  wheelchairs: {stock.available} available of {stock.total} "
          f"(low stock at {stock.low_stock_threshold})")
    loan = aid.LendKit(pb.LendKitRequest(grid_code=grid, item="wheelchair",
                                         person_id=sample["persons"][0]))
    check(bool(loan.loan_id), f"lent a wheelchair (loan {loan.loan_id[:8]}…)")
    aid.ReturnKit(pb.ReturnKitRequest(loan_id=loan.loan_id))
    expect_error(grpc.StatusCode.FAILED_PRECONDITION,
                 lambda: aid.ReturnKit(pb.ReturnKitRequest(loan_id=loan.loan_id)),
                 "return the same wheelchair twice")


def _events(bootstrap: str, case_id: str) -> None:
    print("\n=== 事件 Events on topic cdsp.aid.v1")
    consumer = KafkaConsumer("cdsp.aid.v1", bootstrap_servers=bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=3000)
    counts: Counter[str] = Counter()
    for_case = []
    for record in consumer:
        envelope = Envelope.FromString(record.value)
        counts[envelope.event_type] += 1
        if envelope.aggregate_id == case_id:
            for_case.append(envelope.event_type.rsplit(".", 1)[1])
    consumer.close()
    for event_type, n in sorted(counts.items()):
        print(f"  {event_type:<40} {n}")
    check(bool(for_case) and for_case[-1] == "CaseResolved",
          f"events of case {case_id[:8]}…: {for_case}")
