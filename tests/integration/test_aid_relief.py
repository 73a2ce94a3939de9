"""Temporary relief on the real service: granted on a household's open case, capped over all of
the case's grants and by the community's budget in integer fen, refusals recorded, no overdraft
or cap overrun under concurrent grants, the quarterly CSV export, and a ledger the service's own
database role can only append to."""

from __future__ import annotations

import csv
import io
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from zoneinfo import ZoneInfo

import grpc
import psycopg

import devstack
from cdsp.aid.v1 import aid_pb2 as pb
from tests.aid_helpers import aid_admin, aid_stub, open_case, relief_ready
from tests.helpers import Tree, rpc_error, token, violations

CAP = 139_500          # 1.5 x the city's minimum living standard of 93,000 fen (tests.helpers)
BUDGET = 1_000_000     # the test session's community budget (CDSP_AID_COMMUNITY_BUDGET_FEN)
UNKNOWN = "00000000-0000-4000-8000-00000000beef"


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


def _grant(household_id: str, case_id: str, amount_fen: int, reason: str = "临时救助"
           ) -> pb.GrantReliefRequest:
    return pb.GrantReliefRequest(household_id=household_id, case_id=case_id,
                                 amount_fen=amount_fen, reason=reason)


def test_grant_refusals_and_ledger(tree: Tree, aid: str, stack: devstack.Stack) -> None:
    household = tree.household()
    relief_ready(tree, stack.database_url("aid"), household)
    api = aid_admin(tree, aid)
    case = open_case(api, household.household_id)

    granted = api.GrantRelief(_grant(household.household_id, case.case_id, CAP, "住院后生活困难"))
    assert granted.granted and granted.budget_remaining_fen == BUDGET - CAP
    assert (granted.case_id, granted.case_granted_fen, granted.case_cap_fen) == (
        case.case_id, CAP, CAP)

    over_cap = rpc_error(api.GrantRelief, _grant(household.household_id, case.case_id, 1,
                                                 "超过上限"))
    assert over_cap.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert over_cap.details() == (
        "refused: above the per-case cap of 1,395.00 yuan (1.5 x the monthly minimum living "
        f"standard of 930.00 yuan set by {tree.city}); the case has already been granted "
        "1,395.00 yuan, so this grant exceeds the cap by 0.01 yuan")

    budget = api.GetBudget(pb.GetBudgetRequest(community_path=tree.community_path))
    assert (budget.total_fen, budget.granted_fen, budget.remaining_fen) == (
        BUDGET, CAP, BUDGET - CAP)

    rows = _ledger(api, tree.city_path)
    assert [(r["decision"], r["case_id"], r["amount_fen"], r["amount_yuan"], r["refusal_limit"],
             r["excess_fen"], r["cap_fen"]) for r in rows] == [
        ("granted", case.case_id, str(CAP), "1395.00", "", "0", str(CAP)),
        ("refused", case.case_id, "1", "0.01", "per_case_cap", "1", str(CAP))]
    assert rows[0]["decided_at"].endswith("+08:00")
    assert rows[0]["community_path"] == tree.community_path


def test_the_cap_holds_over_all_of_a_case_s_grants(tree: Tree, aid: str,
                                                    stack: devstack.Stack) -> None:
    household = tree.household()
    relief_ready(tree, stack.database_url("aid"), household)
    api = aid_admin(tree, aid)
    case = open_case(api, household.household_id)
    hid = household.household_id

    first = api.GrantRelief(_grant(hid, case.case_id, 100_000))
    second = api.GrantRelief(_grant(hid, case.case_id, 39_000))
    assert (first.case_granted_fen, second.case_granted_fen) == (100_000, 139_000)
    third = rpc_error(api.GrantRelief, _grant(hid, case.case_id, 600))  # each alone is far below
    assert third.code() == grpc.StatusCode.FAILED_PRECONDITION
    text = third.details() or ""
    assert "per-case cap of 1,395.00 yuan" in text
    assert "already been granted 1,390.00 yuan" in text and text.endswith("by 1.00 yuan")
    assert api.GrantRelief(_grant(hid, case.case_id, 500)).case_granted_fen == CAP  # the rest

    # The case resolved, the household's next case has a cap of its own.
    api.ResolveCase(pb.ResolveCaseRequest(
        case_id=case.case_id, outcome="已发放",
        expected_version=api.GetCase(pb.GetCaseRequest(case_id=case.case_id)).version))
    closed = rpc_error(api.GrantRelief, _grant(hid, case.case_id, 100))
    assert closed.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "the case is resolved" in (closed.details() or "")
    new_case = open_case(api, hid)
    assert new_case.case_id != case.case_id
    assert api.GrantRelief(_grant(hid, new_case.case_id, CAP)).case_granted_fen == CAP

    rows = _ledger(api, tree.city_path)
    assert [(r["case_id"], r["decision"], r["amount_fen"]) for r in rows] == [
        (case.case_id, "granted", "100000"), (case.case_id, "granted", "39000"),
        (case.case_id, "refused", "600"), (case.case_id, "granted", "500"),
        (new_case.case_id, "granted", str(CAP))]  # the resolved case's refusal wrote nothing


def test_bad_grants_change_nothing(tree: Tree, aid: str, stack: devstack.Stack) -> None:
    household, neighbour, other_grid = tree.household(), tree.household(), tree.household(1)
    for h in (household, neighbour, other_grid):
        relief_ready(tree, stack.database_url("aid"), h)
    api = aid_admin(tree, aid)
    case = open_case(api, household.household_id)
    neighbours_case = open_case(api, neighbour.household_id)
    other_grid_case = open_case(api, other_grid.household_id)
    hid = household.household_id

    def refused(request: pb.GrantReliefRequest) -> dict[str, str]:
        exc = rpc_error(api.GrantRelief, request)
        assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT, exc
        return violations(exc)

    for amount in (-100, 0, 10**15):
        assert set(refused(_grant(hid, case.case_id, amount))) == {"amount_fen"}
    assert set(refused(_grant(hid, case.case_id, 100, ""))) == {"reason"}
    assert refused(_grant(hid, "", 100)) == {
        "case_id": "required: the household's open aid case the relief is granted on"}
    assert refused(_grant(hid, "case-1", 100)) == {"case_id": "must be a UUID"}
    assert set(refused(_grant(hid, "", 0, ""))) == {"amount_fen", "reason", "case_id"}
    assert refused(_grant(hid, neighbours_case.case_id, 100)) == {
        "case_id": "belongs to another household"}
    assert rpc_error(api.GrantRelief, _grant(hid, UNKNOWN, 100)).code() == \
        grpc.StatusCode.NOT_FOUND

    # A community worker of grid 1 only: the case (and household) of grid 0 are outside.
    grid1 = aid_stub(aid, token("community_worker", [tree.grid_paths[1]]))
    assert rpc_error(grid1.GrantRelief, _grant(other_grid.household_id, case.case_id, 100)
                     ).code() == grpc.StatusCode.PERMISSION_DENIED
    assert rpc_error(grid1.GrantRelief, _grant(hid, other_grid_case.case_id, 100)).code() == \
        grpc.StatusCode.PERMISSION_DENIED
    grid_worker = aid_stub(aid, token("grid_worker", [tree.grid_paths[0]]))
    assert rpc_error(grid_worker.GrantRelief, _grant(hid, case.case_id, 100)).code() == \
        grpc.StatusCode.PERMISSION_DENIED
    outsider = aid_stub(aid, token("community_worker", ["/elsewhere/"]))
    assert rpc_error(outsider.GrantRelief, _grant(hid, case.case_id, 100)).code() == \
        grpc.StatusCode.PERMISSION_DENIED

    assert _ledger(api, tree.city_path) == []
    budget = api.GetBudget(pb.GetBudgetRequest(community_path=tree.community_path))
    assert budget.granted_fen == 0
    bad_quarter = rpc_error(api.ExportLedger, pb.ExportLedgerRequest(
        jurisdiction_path=tree.city_path, year=2026, quarter=5))
    assert "quarter" in violations(bad_quarter)
    assert rpc_error(outsider.ExportLedger, pb.ExportLedgerRequest(
        jurisdiction_path=tree.city_path, year=2026, quarter=1)).code() == \
        grpc.StatusCode.PERMISSION_DENIED


def test_concurrent_grants_never_overdraw(tree: Tree, aid: str, stack: devstack.Stack) -> None:
    households = [tree.household(grid=i % 2) for i in range(10)]
    for household in households:
        relief_ready(tree, stack.database_url("aid"), household)
    api = aid_admin(tree, aid)
    cases = [open_case(api, h.household_id).case_id for h in households]

    def grant(household_id: str, case_id: str) -> bool:
        try:
            api.GrantRelief(_grant(household_id, case_id, CAP, "并发测试"))
            return True
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.FAILED_PRECONDITION, exc
            assert "relief budget" in (exc.details() or "")
            return False

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(grant, [h.household_id for h in households], cases))
    assert results.count(True) == BUDGET // CAP == 7
    budget = api.GetBudget(pb.GetBudgetRequest(community_path=tree.community_path))
    assert budget.granted_fen == 7 * CAP and budget.remaining_fen == BUDGET - 7 * CAP
    rows = _ledger(api, tree.city_path)
    assert sum(int(r["amount_fen"]) for r in rows if r["decision"] == "granted") == 7 * CAP
    refused = [r for r in rows if r["decision"] == "refused"]
    assert len(refused) == 3 and {r["refusal_limit"] for r in refused} == {"annual_budget"}
    assert all(int(r["excess_fen"]) == CAP - (BUDGET - 7 * CAP) for r in refused)


def test_concurrent_grants_on_one_case_never_pass_its_cap(tree: Tree, aid: str,
                                                          stack: devstack.Stack) -> None:
    household = tree.household()
    relief_ready(tree, stack.database_url("aid"), household)
    api = aid_admin(tree, aid)
    case = open_case(api, household.household_id)

    def grant(_: int) -> int:
        try:
            return int(api.GrantRelief(_grant(household.household_id, case.case_id, 30_000,
                                              "并发测试")).case_granted_fen)
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.FAILED_PRECONDITION, exc
            assert "per-case cap" in (exc.details() or "")
            return 0

    with ThreadPoolExecutor(max_workers=12) as pool:
        totals = [t for t in pool.map(grant, range(12)) if t]
    assert sorted(totals) == [30_000, 60_000, 90_000, 120_000]  # each saw the one before it
    rows = _ledger(api, tree.city_path)
    assert sum(int(r["amount_fen"]) for r in rows if r["decision"] == "granted") == 120_000
    assert [r["excess_fen"] for r in rows if r["decision"] == "refused"] == ["10500"] * 8
    budget = api.GetBudget(pb.GetBudgetRequest(community_path=tree.community_path))
    assert budget.granted_fen == 120_000


def test_the_ledger_is_append_only_for_the_service_s_role(tree: Tree, aid: str,
                                                          stack: devstack.Stack) -> None:
    household = tree.household()
    relief_ready(tree, stack.database_url("aid"), household)
    api = aid_admin(tree, aid)
    case = open_case(api, household.household_id)
    api.GrantRelief(_grant(household.household_id, case.case_id, 50_000))
    rpc_error(api.GrantRelief, _grant(household.household_id, case.case_id, CAP))  # refused
    before = _ledger(api, tree.city_path)
    assert len(before) == 2

    with psycopg.connect(stack.database_url("aid"), autocommit=True) as conn, \
            conn.transaction():
        conn.execute("SELECT set_config('cdsp.scope', '/%', true)")  # every jurisdiction
        seen = conn.execute("SELECT count(*) FROM relief_ledger WHERE household_id = %s",
                            [household.household_id]).fetchone()
        updated = conn.execute("UPDATE relief_ledger SET amount_fen = 1, granted = true "
                               "WHERE household_id = %s", [household.household_id]).rowcount
        deleted = conn.execute("DELETE FROM relief_ledger WHERE household_id = %s",
                               [household.household_id]).rowcount
    assert (seen, updated, deleted) == ((2,), 0, 0)
    assert _ledger(api, tree.city_path) == before
