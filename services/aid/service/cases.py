"""Use cases: hardship reports, the warnings they raise, and aid cases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from aid.adapters import action_store, case_store, projection_store
from aid.adapters.case_store import Case
from aid.adapters.projection_store import HouseholdRow
from aid.config import Aid, AidRules
from aid.domain import warnings
from aid.service.access import READ_ROLES, WORKER_ROLES, load_household, not_visible
from cdsp.events.v1 import aid_pb2 as ev
from runtime.auth import Caller
from runtime.db import UnitOfWork
from runtime.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
)
from runtime.inputs import decode_page_token, next_page, page_size, require_uuid, subtrees

CLOCK_SKEW = timedelta(minutes=2)
RECENT = timedelta(days=31)  # medical spending is monthly: the last report counts a month


def record_case(uow: UnitOfWork, case: Case, payload: object) -> None:
    uow.record(payload, aggregate_type="aid_case", aggregate_id=case.case_id,  # type: ignore[arg-type]
               version=case.version, jurisdiction_path=case.jurisdiction_path)


async def report_hardship(aid: Aid, caller: Caller, household_id: str, kind: int,
                          amount_fen: int, description: str, occurred_at: datetime | None
                          ) -> tuple[str, warnings.Evaluation, Case | None]:
    """Records the report, evaluates it, and opens or raises the household's case."""
    caller.require_role(*WORKER_ROLES)
    warnings.validate_report(kind, amount_fen, description)
    now = datetime.now(UTC)
    if occurred_at is not None and occurred_at > now + CLOCK_SKEW:
        raise InvalidArgument([FieldViolation("occurred_at", "cannot be in the future")])
    report_id = str(uuid.uuid4())
    async with aid.db.unit_of_work(caller) as uow:
        household = await load_household(uow, household_id, lock=True)  # serialises reports
        evaluation = warnings.evaluate(kind, amount_fen, household.monthly_income_fen,
                                       aid.rules)
        await case_store.insert_report(uow, report_id, household.household_id,
                                       household.jurisdiction_path, kind, amount_fen,
                                       household.monthly_income_fen, evaluation.level,
                                       evaluation.reason, description, occurred_at or now)
        case = await apply_warning(uow, household, evaluation)
        return report_id, evaluation, case


async def apply_warning(uow: UnitOfWork, household: HouseholdRow,
                        evaluation: warnings.Evaluation) -> Case | None:
    """Opens a case for the warning, or raises the household's open case to its level (never
    lowers it); records CaseOpened / WarningRaised. Returns the case that answers it."""
    if evaluation.level == warnings.NONE:
        return None
    now = datetime.now(UTC)
    case = await case_store.open_case_of(uow, household.household_id)
    previous = warnings.NONE
    if case is None:
        case = await case_store.insert_case(uow, Case(
            str(uuid.uuid4()), household.household_id, household.jurisdiction_path,
            evaluation.level, case_store.OPEN, warnings.required_actions(evaluation.level, now)))
        record_case(uow, case, ev.CaseOpened(
            case_id=case.case_id, household_id=case.household_id,
            level=case.level,  # type: ignore[arg-type]
            required_actions=[a.action for a in case.actions]))
    elif evaluation.level > case.level:
        previous = case.level
        case.level = evaluation.level
        case = await case_store.update_case(
            uow, case, warnings.required_actions(evaluation.level, now))
    else:
        return case  # the open case already answers this level
    members = await projection_store.household_members(uow, household.household_id)
    record_case(uow, case, ev.WarningRaised(
        household_id=case.household_id, case_id=case.case_id,
        level=case.level, previous_level=previous,  # type: ignore[arg-type]
        reason=evaluation.reason, person_ids=members))
    return case


async def reevaluate_incomes(uow: UnitOfWork, households: list[HouseholdRow],
                             rules: AidRules) -> int:
    """After households' incomes changed: the last month's medical spending may now be above
    the red share of the new income (a city-wide income update re-evaluates here, in batches).
    Returns how many warnings it raised."""
    if not households:
        return 0
    spendings = await case_store.recent_medical_spendings(
        uow, [h.household_id for h in households], datetime.now(UTC) - RECENT)
    raised = 0
    for household in households:
        spending = spendings.get(household.household_id)
        if spending is None:
            continue
        evaluation = warnings.evaluate(warnings.MEDICAL_SPENDING, spending,
                                       household.monthly_income_fen, rules)
        if evaluation.level != warnings.NONE:
            await apply_warning(uow, household, evaluation)
            raised += 1
    return raised


async def load_case(uow: UnitOfWork, case_id: str, lock: bool = False) -> Case:
    require_uuid(case_id, "case_id")
    case = await case_store.get_case(uow, case_id, lock=lock)
    if case is not None:
        return case
    await not_visible(uow, "aid_cases", "case_id", case_id, "case")


async def get_case(aid: Aid, caller: Caller, case_id: str) -> Case:
    caller.require_role(*READ_ROLES)
    async with aid.db.unit_of_work(caller) as uow:
        return await load_case(uow, case_id)


async def resolve_case(aid: Aid, caller: Caller, case_id: str, outcome: str,
                       expected_version: int) -> Case:
    caller.require_role(*WORKER_ROLES)
    if not outcome.strip() or len(outcome) > 2000:
        raise InvalidArgument([FieldViolation("outcome", "required, at most 2000 characters")])
    async with aid.db.unit_of_work(caller) as uow:
        case = await load_case(uow, case_id, lock=True)
        if case.status != case_store.OPEN:
            raise FailedPrecondition("the case is already resolved")
        if case.version != expected_version:
            raise FailedPrecondition(f"version {expected_version} is stale: the case is at "
                                     f"version {case.version}; read it again and retry")
        case.status, case.outcome = case_store.RESOLVED, outcome.strip()
        await action_store.close_actions(uow, case.case_id)
        case = await case_store.update_case(uow, case)
        record_case(uow, case, ev.CaseResolved(case_id=case.case_id,
                                                household_id=case.household_id,
                                                outcome=case.outcome))
        return case


async def list_cases(aid: Aid, caller: Caller, path: str, min_level: int,
                     include_resolved: bool, size: int, token: str) -> tuple[list[Case], str]:
    caller.require_role(*READ_ROLES)
    paths = subtrees(caller, path)
    limit = page_size(size)
    after = decode_page_token(token)
    async with aid.db.unit_of_work(caller) as uow:
        rows = await case_store.list_cases(uow, paths, min_level, include_resolved, after,
                                           limit + 1)
    return next_page(rows, limit, lambda case: case.case_id)
