"""Use cases: completing a case's required actions, and the scan of their deadlines.

Completing an action is one unit of work: the case row is locked, the action written, the case's
version moves on by one and CaseActionCompleted is recorded with it. The scan runs in every
replica as the system caller, at start-up (what fell due while no replica ran is found when one
is back) and every `rules.scan_interval_s`; each action it marks is announced once, as
CaseActionBreached with the case's next version, and counted once committed. A late completion
that the scan had not marked yet marks the breach itself and counts it (its CaseActionCompleted
says on_time false; no CaseActionBreached follows, as a late arrival gives no SlaBreached).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aid.adapters import action_store, case_store
from aid.adapters.case_store import Case
from aid.config import Aid
from aid.domain import case_actions
from aid.metrics import CASE_ACTION_BREACHES
from aid.service.access import WORKER_ROLES
from aid.service.cases import load_case, record_case
from cdsp.events.v1 import aid_pb2 as ev
from runtime.auth import SYSTEM, Caller
from runtime.server import PeriodicJob
from runtime.timestamps import to_timestamp

CLOCK_SKEW = timedelta(minutes=2)
SCAN_BATCH = 500


async def complete_action(aid: Aid, caller: Caller, case_id: str, action: str, note: str,
                          completed_at: datetime | None) -> Case:
    """Marks one of the case's actions done (at `completed_at`, default now)."""
    caller.require_role(*WORKER_ROLES)
    now = datetime.now(UTC)
    async with aid.db.unit_of_work(caller) as uow:
        case = await load_case(uow, case_id, lock=True)  # serialises with the scan
        assert case.opened_at is not None
        done, breached = case_actions.complete(
            case.actions, action, note, completed_at or now, opened_at=case.opened_at,
            resolved=case.status != case_store.OPEN, now=now, skew=CLOCK_SKEW,
            by=caller.subject)
        await action_store.save_completion(uow, case.case_id, done)
        case = await case_store.update_case(uow, case)
        record_case(uow, case, ev.CaseActionCompleted(
            case_id=case.case_id, household_id=case.household_id, action=done.action,
            completed_at=to_timestamp(done.completed_at), on_time=done.on_time))
    if breached:
        CASE_ACTION_BREACHES.labels(action=done.action).inc()
    return case


async def scan_case_actions(aid: Aid) -> int:
    """Marks every open action of an open case whose due time passed, and records one
    CaseActionBreached for each; returns how many it marked."""
    now = datetime.now(UTC)
    marked = 0
    while True:
        async with aid.db.unit_of_work(SYSTEM) as uow:
            batch = await action_store.mark_breached(uow, now, SCAN_BATCH)
            for b in batch:
                uow.record(ev.CaseActionBreached(
                    case_id=b.case_id, household_id=b.household_id, action=b.action,
                    due_at=to_timestamp(b.due_at), jurisdiction_path=b.jurisdiction_path),
                    aggregate_type="aid_case", aggregate_id=b.case_id, version=b.version,
                    jurisdiction_path=b.jurisdiction_path)
        for b in batch:  # counted once committed
            CASE_ACTION_BREACHES.labels(action=b.action).inc()
        marked += len(batch)
        if len(batch) < SCAN_BATCH:
            return marked


def case_action_jobs(aid: Aid) -> list[PeriodicJob]:
    return [PeriodicJob("case-action-scan", aid.rules.scan_interval_s,
                        lambda: scan_case_actions(aid))]
