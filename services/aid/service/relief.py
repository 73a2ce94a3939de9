"""Use cases: temporary relief grants (and refusals), budgets, and the quarterly ledger export."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import datetime

from aid.adapters import case_store, jurisdiction_store, relief_store
from aid.config import Aid
from aid.domain import relief
from aid.service.access import READ_ROLES, RELIEF_ROLES, load_household
from aid.service.cases import load_case
from cdsp.events.v1 import aid_pb2 as ev
from runtime.auth import Caller
from runtime.db import UnitOfWork
from runtime.errors import FailedPrecondition, FieldViolation, InvalidArgument, PermissionDenied
from runtime.inputs import require_path


@dataclass(frozen=True)
class ReliefDecision:
    decision_id: str
    household_id: str
    case_id: str
    amount_fen: int
    decision: relief.Decision
    budget_remaining_fen: int
    case_granted_fen: int  # granted on the case so far, this grant included
    case_cap_fen: int
    decided_at: datetime
    message: str


async def _standard(uow: UnitOfWork, path: str) -> jurisdiction_store.Standard:
    """The minimum living standard that applies to a household at `path`: that of the deepest
    jurisdiction at or above it that sets one, as the registry announced it."""
    standard = await jurisdiction_store.living_standard(uow, relief.ancestor_paths(path))
    if standard is None:
        raise FailedPrecondition(relief.no_standard_message(path))
    return standard


async def grant_relief(aid: Aid, caller: Caller, household_id: str, amount_fen: int,
                       reason: str, case_id: str) -> ReliefDecision:
    """Grants or refuses relief on the household's open case; either way the decision is in the
    ledger and on the topic. A refusal then fails the call with FAILED_PRECONDITION naming the
    limit and by how much. The case row is locked first: grants on one case take turns, so
    together they never pass its cap."""
    caller.require_role(*RELIEF_ROLES)
    relief.validate_grant(amount_fen, reason, case_id)
    year = aid.today().year
    async with aid.db.unit_of_work(caller) as uow:
        household = await load_household(uow, household_id)
        case = await load_case(uow, case_id, lock=True)
        if case.household_id != household.household_id:
            raise InvalidArgument([FieldViolation("case_id", "belongs to another household")])
        if case.status != case_store.OPEN:
            raise FailedPrecondition("the case is resolved: relief is granted on an open case")
        standard = await _standard(uow, household.jurisdiction_path)
        cap = relief.cap_fen(standard.fen, aid.rules.relief_cap_permille)
        granted_before = await relief_store.case_granted(uow, case.case_id)
        community = relief.community_of(household.jurisdiction_path)
        budget = await relief_store.lock_budget(uow, community, year,
                                                aid.rules.community_budget_fen)
        decision = relief.decide(amount_fen, cap, granted_before, budget.remaining_fen)
        remaining, case_granted = budget.remaining_fen, granted_before
        if decision.granted:
            await relief_store.spend(uow, community, year, amount_fen)
            case_granted = await relief_store.add_to_case(uow, case.case_id, amount_fen)
            remaining -= amount_fen
        decision_id = str(uuid.uuid4())
        decided_at = await relief_store.insert_decision(uow, {
            "decision_id": decision_id, "household_id": household.household_id,
            "jurisdiction_path": household.jurisdiction_path, "community_path": community,
            "year": year, "case_id": case.case_id, "amount_fen": amount_fen,
            "granted": decision.granted, "refusal_limit": decision.limit or None,
            "excess_fen": decision.excess_fen, "cap_fen": cap,
            "budget_remaining_fen": remaining, "reason": reason.strip(),
            "decided_by": caller.subject})
        uow.record(ev.ReliefDecided(decision_id=decision_id,
                                    household_id=household.household_id,
                                    granted=decision.granted, amount_fen=amount_fen,
                                    refusal_limit=decision.limit,
                                    excess_fen=decision.excess_fen),
                   aggregate_type="relief_decision", aggregate_id=decision_id, version=1,
                   jurisdiction_path=household.jurisdiction_path)
    message = "" if decision.granted else relief.refusal_message(
        decision, cap_fen=cap, case_granted_fen=granted_before,
        remaining_fen=budget.remaining_fen, permille=aid.rules.relief_cap_permille,
        standard_fen=standard.fen, standard_code=standard.code, year=year)
    return ReliefDecision(decision_id, household.household_id, case.case_id, amount_fen,
                          decision, remaining, case_granted, cap, decided_at, message)


def _visible(caller: Caller, path: str) -> None:
    if not (caller.covers(path) or any(s.startswith(path) for s in caller.scopes)):
        raise PermissionDenied("that community is outside your jurisdictions")


async def get_budget(aid: Aid, caller: Caller, community_path: str, year: int
                     ) -> relief_store.BudgetRow:
    caller.require_role(*READ_ROLES)
    require_path(community_path, "community_path")
    if community_path.count("/") - 1 != relief.COMMUNITY_DEPTH:
        raise InvalidArgument([FieldViolation("community_path", "must be a community's path "
                                                                "(four codes)")])
    caller.require_scope(community_path, "that community")
    year = year or aid.today().year
    async with aid.db.unit_of_work(caller) as uow:
        budget = await relief_store.get_budget(uow, community_path, year)
    return budget or relief_store.BudgetRow(community_path, year, aid.rules.community_budget_fen,
                                            0)


HEADER = ("decision_id", "decided_at", "community_path", "household_id", "case_id", "decision",
          "amount_fen", "amount_yuan", "refusal_limit", "excess_fen", "cap_fen",
          "budget_remaining_fen", "reason", "decided_by")


async def export_ledger(aid: Aid, caller: Caller, path: str, year: int, quarter: int
                        ) -> tuple[bytes, int]:
    """The quarter's decisions under `path` as CSV (times in local time with their offset)."""
    caller.require_role(*READ_ROLES)
    require_path(path)
    v = []
    if not 2000 <= year <= 2100:
        v.append(FieldViolation("year", "2000 to 2100"))
    if not 1 <= quarter <= 4:
        v.append(FieldViolation("quarter", "1 to 4"))
    if v:
        raise InvalidArgument(v)
    caller.require_scope(path, "that jurisdiction")
    start = datetime(year, 3 * quarter - 2, 1, tzinfo=aid.tz)
    end = datetime(year + quarter // 4, 3 * quarter % 12 + 1, 1, tzinfo=aid.tz)
    async with aid.db.unit_of_work(caller) as uow:
        rows = await relief_store.ledger_rows(uow, path, start, end)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for (decision_id, decided_at, community, household, case, granted, amount, limit, excess,
         cap, remaining, reason, by) in rows:
        writer.writerow([decision_id, decided_at.astimezone(aid.tz).isoformat(), community,
                         household, case or "", "granted" if granted else "refused", amount,
                         relief.yuan(amount).replace(",", ""), limit or "", excess, cap,
                         remaining, reason, by])
    return out.getvalue().encode("utf-8"), len(rows)


def require_refusal_to_fail(decision: ReliefDecision) -> None:
    if not decision.decision.granted:
        raise FailedPrecondition(decision.message)
