"""The aid loop on the real services: registry events → aid projection → a hardship report →
a warning → a case → its events on cdsp.aid.v1."""

from __future__ import annotations

import time

import grpc
from google.protobuf.field_mask_pb2 import FieldMask

import cdsp.events.v1.aid_pb2  # noqa: F401  (registers the payload types)
import devstack
from cdsp.aid.v1 import aid_pb2 as pb
from cdsp.events.v1 import aid_pb2 as ev
from cdsp.registry.v1 import registry_pb2 as rpb
from runtime.events import unpack_payload
from tests.aid_helpers import aid_admin, aid_stub, wait_projected
from tests.events import TopicReader
from tests.helpers import Tree, rpc_error, token, violations


def test_medical_spending_to_red_warning_case_and_events(tree: Tree, aid: str,
                                                         stack: devstack.Stack) -> None:
    household = tree.household(income_fen=300_000)
    members = [tree.register(household).person_id, tree.register(household).person_id]
    wait_projected(stack.database_url("aid"), members)
    api = aid_admin(tree, aid)

    calm = api.ReportHardship(pb.ReportHardshipRequest(
        household_id=household.household_id, kind=pb.HARDSHIP_KIND_MEDICAL_SPENDING,
        amount_fen=150_000))  # exactly 50%: not above it
    assert calm.level == ev.WARNING_LEVEL_UNSPECIFIED and not calm.HasField("case")

    gap = api.ReportHardship(pb.ReportHardshipRequest(
        household_id=household.household_id, kind=pb.HARDSHIP_KIND_DAILY_SPENDING_GAP,
        amount_fen=20_000))
    assert gap.level == ev.WARNING_LEVEL_YELLOW
    case_id = gap.case.case_id
    assert [a.action for a in gap.case.actions] == ["supermarket_supplies"]

    red = api.ReportHardship(pb.ReportHardshipRequest(
        household_id=household.household_id, kind=pb.HARDSHIP_KIND_MEDICAL_SPENDING,
        amount_fen=150_001))
    case = red.case
    assert red.level == ev.WARNING_LEVEL_RED and case.case_id == case_id  # raised, not a new one
    assert case.level == ev.WARNING_LEVEL_RED
    assert [a.action for a in case.actions] == [
        "supermarket_supplies", "community_intervention", "insurance_referral"]

    lower = api.ReportHardship(pb.ReportHardshipRequest(
        household_id=household.household_id, kind=pb.HARDSHIP_KIND_ACCIDENT))
    assert lower.case.level == ev.WARNING_LEVEL_RED  # never lowered by a report

    resolved = api.ResolveCase(pb.ResolveCaseRequest(case_id=case_id, outcome="已报销",
                                                     expected_version=case.version))
    assert resolved.status == pb.CASE_STATUS_RESOLVED
    again = rpc_error(api.ResolveCase, pb.ResolveCaseRequest(
        case_id=case_id, outcome="x", expected_version=resolved.version))
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION

    reader = TopicReader(stack.kafka_bootstrap, "cdsp.aid.v1")
    try:
        found = reader.wait_for(lambda envs: len(envs) >= 4, key=case_id)
    finally:
        reader.close()
    kinds = [(e.event_type.rsplit(".", 1)[1], e.aggregate_version) for e in found]
    assert kinds == [("CaseOpened", 1), ("WarningRaised", 1), ("WarningRaised", 2),
                     ("CaseResolved", 3)]
    raised = unpack_payload(found[2])
    assert isinstance(raised, ev.WarningRaised)
    assert raised.previous_level == ev.WARNING_LEVEL_YELLOW
    assert sorted(raised.person_ids) == sorted(members)


def test_bad_reports_change_nothing(tree: Tree, aid: str, stack: devstack.Stack) -> None:
    household = tree.household()
    wait_projected(stack.database_url("aid"), [tree.register(household).person_id])
    api = aid_admin(tree, aid)
    negative = rpc_error(api.ReportHardship, pb.ReportHardshipRequest(
        household_id=household.household_id, kind=pb.HARDSHIP_KIND_MEDICAL_SPENDING,
        amount_fen=-5))
    assert negative.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "amount_fen" in violations(negative)
    absurd = rpc_error(api.ReportHardship, pb.ReportHardshipRequest(
        household_id=household.household_id, kind=pb.HARDSHIP_KIND_DAILY_SPENDING_GAP,
        amount_fen=10**15))
    assert "amount_fen" in violations(absurd)
    no_kind = rpc_error(api.ReportHardship, pb.ReportHardshipRequest(
        household_id=household.household_id, amount_fen=5))
    assert "kind" in violations(no_kind)
    unknown = rpc_error(api.ReportHardship, pb.ReportHardshipRequest(
        household_id="00000000-0000-4000-8000-000000000009",
        kind=pb.HARDSHIP_KIND_ACCIDENT))
    assert unknown.code() == grpc.StatusCode.NOT_FOUND
    outsider = aid_stub(aid, token("grid_worker", [tree.grid_paths[1]]))
    denied = rpc_error(outsider.ReportHardship, pb.ReportHardshipRequest(
        household_id=household.household_id, kind=pb.HARDSHIP_KIND_ACCIDENT))
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    assert list(api.ListCases(pb.ListCasesRequest(
        jurisdiction_path=tree.city_path)).cases) == []


def test_an_income_drop_turns_last_month_s_spending_red(tree: Tree, aid: str,
                                                       stack: devstack.Stack) -> None:
    household = tree.household(income_fen=300_000)
    wait_projected(stack.database_url("aid"), [tree.register(household).person_id])
    api = aid_admin(tree, aid)
    calm = api.ReportHardship(pb.ReportHardshipRequest(
        household_id=household.household_id, kind=pb.HARDSHIP_KIND_MEDICAL_SPENDING,
        amount_fen=100_000))  # a third of the income: no warning yet
    assert calm.level == ev.WARNING_LEVEL_UNSPECIFIED
    tree.admin.UpdateHousehold(rpb.UpdateHouseholdRequest(
        household=rpb.Household(household_id=household.household_id,
                                monthly_income_fen=150_000),
        update_mask=FieldMask(paths=["monthly_income_fen"]), expected_version=1))
    deadline = time.monotonic() + 30
    cases: list[pb.AidCase] = []
    while time.monotonic() < deadline and not cases:
        cases = list(api.ListCases(pb.ListCasesRequest(jurisdiction_path=tree.city_path)).cases)
        time.sleep(0.2)
    assert [(c.household_id, c.level) for c in cases] == [
        (household.household_id, ev.WARNING_LEVEL_RED)]
