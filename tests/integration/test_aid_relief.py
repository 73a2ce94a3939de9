"""Temporary relief on the real service: caps and budgets in integer fen, refusals recorded,
no overdraft under concurrent grants, and the quarterly CSV export."""

from __future__ import annotations

import csv
import io
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from zoneinfo import ZoneInfo

import grpc

import devstack
from cdsp.aid.v1 import aid_pb2 as pb
from tests.aid_helpers import aid_admin, aid_stub, wait_projected
from tests.helpers import Tree, rpc_error, token, violations

CAP = 139_500          # 1.5 x the default minimum living standard of 93,000 fen
BUDGET = 1_000_000     # the test session's community budget (CDSP_AID_COMMUNITY_BUDGET_FEN)


def _quarter() -> tuple[int, int]:
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    return now.year, (now.month - 1) // 3 + 1


def _ledger(api: object, path: str) -> list[dict[str, str]]:
    year, quarter = _quarter()
    reply = api.ExportLedger(pb.ExportLedgerRequest(  # type: ignore[attr-defined]
        jurisdiction_path=path, year=year, quarter=quarter))
    rows = list(csv.DictReader(io.StringIO(reply.csv.decode("utf-8"))))
    assert reply.rows == len(rows)
    return rows


def test_grant_refusals_and_ledger(tree: Tree, aid: str, stack: devstack.Stack) -> None:
    household = tree.household()
    wait_projected(stack.database_url("aid"), [tree.register(household).person_id])
    api = aid_admin(tree, aid)

    granted = api.GrantRelief(pb.GrantReliefRequest(household_id=household.household_id,
                                                    amount_fen=CAP, reason="住院后生活困难"))
    assert granted.granted and granted.budget_remaining_fen == BUDGET - CAP

    over_cap = rpc_error(api.GrantRelief, pb.GrantReliefRequest(
        household_id=household.household_id, amount_fen=CAP + 1, reason="超过上限"))
    assert over_cap.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "per-case cap of 1,395.00 yuan" in (over_cap.details() or "")
    assert "by 0.01 yuan" in (over_cap.details() or "")

    budget = api.GetBudget(pb.GetBudgetRequest(community_path=tree.community_path))
    assert (budget.total_fen, budget.granted_fen, budget.remaining_fen) == (
        BUDGET, CAP, BUDGET - CAP)

    rows = _ledger(api, tree.city_path)
    assert [(r["decision"], r["amount_fen"], r["amount_yuan"], r["refusal_limit"],
             r["excess_fen"]) for r in rows] == [
        ("granted", str(CAP), "1395.00", "", "0"),
        ("refused", str(CAP + 1), "1395.01", "per_case_cap", "1")]
    assert rows[0]["decided_at"].endswith("+08:00")
    assert rows[0]["community_path"] == tree.community_path


def test_bad_grants_change_nothing(tree: Tree, aid: str, stack: devstack.Stack) -> None:
    household = tree.household()
    wait_projected(stack.database_url("aid"), [tree.register(household).person_id])
    api = aid_admin(tree, aid)
    for amount, field in ((-100, "amount_fen"), (0, "amount_fen"), (10**15, "amount_fen")):
        exc = rpc_error(api.GrantRelief, pb.GrantReliefRequest(
            household_id=household.household_id, amount_fen=amount, reason="x"))
        assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT and field in violations(exc)
    no_reason = rpc_error(api.GrantRelief, pb.GrantReliefRequest(
        household_id=household.household_id, amount_fen=100))
    assert "reason" in violations(no_reason)
    grid_worker = aid_stub(aid, token("grid_worker", [tree.grid_paths[0]]))
    assert rpc_error(grid_worker.GrantRelief, pb.GrantReliefRequest(
        household_id=household.household_id, amount_fen=100, reason="x")).code() == \
        grpc.StatusCode.PERMISSION_DENIED
    outsider = aid_stub(aid, token("community_worker", ["/elsewhere/"]))
    assert rpc_error(outsider.GrantRelief, pb.GrantReliefRequest(
        household_id=household.household_id, amount_fen=100, reason="x")).code() == \
        grpc.StatusCode.PERMISSION_DENIED
    assert _ledger(api, tree.city_path) == []
    bad_quarter = rpc_error(api.ExportLedger, pb.ExportLedgerRequest(
        jurisdiction_path=tree.city_path, year=2026, quarter=5))
    assert "quarter" in violations(bad_quarter)
    assert rpc_error(outsider.ExportLedger, pb.ExportLedgerRequest(
        jurisdiction_path=tree.city_path, year=2026, quarter=1)).code() == \
        grpc.StatusCode.PERMISSION_DENIED


def test_concurrent_grants_never_overdraw(tree: Tree, aid: str, stack: devstack.Stack) -> None:
    households = [tree.household(grid=i % 2) for i in range(10)]
    wait_projected(stack.database_url("aid"),
                   [tree.register(h).person_id for h in households])
    api = aid_admin(tree, aid)

    def grant(household_id: str) -> bool:
        try:
            api.GrantRelief(pb.GrantReliefRequest(household_id=household_id, amount_fen=CAP,
                                                  reason="并发测试"))
            return True
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.FAILED_PRECONDITION, exc
            assert "relief budget" in (exc.details() or "")
            return False

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(grant, [h.household_id for h in households]))
    assert results.count(True) == BUDGET // CAP == 7
    budget = api.GetBudget(pb.GetBudgetRequest(community_path=tree.community_path))
    assert budget.granted_fen == 7 * CAP and budget.remaining_fen == BUDGET - 7 * CAP
    rows = _ledger(api, tree.city_path)
    assert sum(int(r["amount_fen"]) for r in rows if r["decision"] == "granted") == 7 * CAP
    refused = [r for r in rows if r["decision"] == "refused"]
    assert len(refused) == 3 and {r["refusal_limit"] for r in refused} == {"annual_budget"}
    assert all(int(r["excess_fen"]) == CAP - (BUDGET - 7 * CAP) for r in refused)
