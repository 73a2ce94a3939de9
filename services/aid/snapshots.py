"""The aid service's aggregates as snapshot events (runtime.snapshots; `python -m
runtime.snapshot_cli aid`): every aid case with its required actions (AidCaseState), service
request (ServiceRequestState), kit stock (KitStockState) and loan (KitLoanState), sickbed schedule
(SickbedScheduleState), community relief budget (ReliefBudgetState), and the relief ledger's
decisions as the ReliefDecided they were announced with (facts: they never change). Each at the
version its live events carry, filed under the path its row is filed under (a loan: the lending
grid's, as its KitLent; a budget: its community's).

What workers type (case outcomes, action and visit notes, request descriptions, teams, reasons
and results) never leaves: it may hold personal data.

Versions. Cases, requests, stock and schedules carry their row's version. A loan has none: its
KitLent is version 1, and so is its snapshot, returned or not. A budget has none and no live
event: its snapshot is version 1 (a new aggregate type, "relief_budget", id
"community_path:year"). A decision is written once: version 1, as its ReliefDecided.

Keys. Each source pages by its primary key, through its index: a uuid, or a composite key whose
text form (the aggregate id) is split back into a row comparison with the key's columns. ORDER BY
names the table's column (an unqualified `request_id` would be the text output column: a sort of
every later row instead of the index). A case's actions are read for the page's cases only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cdsp.events.v1 import aid_pb2 as ev
from runtime.snapshots import AFTER_UUID, Snapshot, SnapshotSource
from runtime.timestamps import to_timestamp

RESOLVED = 2  # aid_cases.status


def _case_state(row: Sequence[Any]) -> Snapshot:
    (case_id, household_id, path, level, status, opened_at, resolved_at, granted, version,
     actions, due, completed, breached) = row
    state = ev.AidCaseState(
        case_id=case_id, household_id=household_id, level=level, resolved=status == RESOLVED,
        opened_at=to_timestamp(opened_at), resolved_at=to_timestamp(resolved_at),
        relief_granted_fen=granted,
        actions=[ev.CaseActionState(action=a, due_at=to_timestamp(d),
                                    completed_at=to_timestamp(c), breached=b)
                 for a, d, c, b in zip(actions or [], due or [], completed or [],
                                       breached or [], strict=True)])
    return Snapshot(state, case_id, version, path)


def _request_state(row: Sequence[Any]) -> Snapshot:
    (request_id, person_id, path, status, online, submitted_at, arrival_due_at, dispatched_at,
     arrived_at, escalated_at, meeting_due_at, resolved_at, arrival_breached, meeting_breached,
     version) = row
    state = ev.ServiceRequestState(
        request_id=request_id, person_id=person_id, status=status, submitted_online=online,
        submitted_at=to_timestamp(submitted_at), arrival_due_at=to_timestamp(arrival_due_at),
        dispatched_at=to_timestamp(dispatched_at), arrived_at=to_timestamp(arrived_at),
        escalated_at=to_timestamp(escalated_at), meeting_due_at=to_timestamp(meeting_due_at),
        resolved_at=to_timestamp(resolved_at), arrival_breached=arrival_breached,
        meeting_breached=meeting_breached)
    return Snapshot(state, request_id, version, path)


def _stock_state(row: Sequence[Any]) -> Snapshot:
    key, grid_code, item, path, lendable, total, available, threshold, version = row
    state = ev.KitStockState(grid_code=grid_code, item=item, lendable=lendable, total=total,
                             available=available, low_stock_threshold=threshold)
    return Snapshot(state, key, version, path)


def _loan_state(row: Sequence[Any]) -> Snapshot:
    loan_id, grid_code, item, person_id, path, lent_at, returned_at = row
    state = ev.KitLoanState(loan_id=loan_id, grid_code=grid_code, item=item,
                            person_id=person_id, lent_at=to_timestamp(lent_at),
                            returned_at=to_timestamp(returned_at))
    return Snapshot(state, loan_id, 1, path)


def _schedule_state(row: Sequence[Any]) -> Snapshot:
    person_id, path, last_visit_at, next_due_at, notified_at, version = row
    state = ev.SickbedScheduleState(person_id=person_id,
                                    last_visit_at=to_timestamp(last_visit_at),
                                    next_due_at=to_timestamp(next_due_at),
                                    overdue_notified_at=to_timestamp(notified_at))
    return Snapshot(state, person_id, version, path)


def _budget_state(row: Sequence[Any]) -> Snapshot:
    key, community_path, year, total_fen, granted_fen = row
    state = ev.ReliefBudgetState(community_path=community_path, year=year, total_fen=total_fen,
                                 granted_fen=granted_fen)
    return Snapshot(state, key, 1, community_path)


def _decision_state(row: Sequence[Any]) -> Snapshot:
    decision_id, household_id, path, granted, amount_fen, limit, excess_fen = row
    state = ev.ReliefDecided(decision_id=decision_id, household_id=household_id,
                             granted=granted, amount_fen=amount_fen, refusal_limit=limit or "",
                             excess_fen=excess_fen)
    return Snapshot(state, decision_id, 1, path)


# A composite key "a:b" back into its parts, for a row comparison the primary key's index
# answers: b never holds ':' (an item is [a-z_], a year digits), so a is all before the last ':'
# (whatever it holds). '' (the first page) gives ('', ''), below every key.
_AFTER_A = "coalesce(substring(%(after)s from '^(.*):[^:]*$'), '')"
_AFTER_B = "coalesce(substring(%(after)s from ':([^:]*)$'), '')"


SOURCES = [
    SnapshotSource("aid_case",
                   "SELECT c.case_id::text, c.household_id::text, c.jurisdiction_path, c.level, "
                   "c.status, c.opened_at, c.resolved_at, c.relief_granted_fen, c.version, "
                   "a.actions, a.due, a.completed, a.breached FROM "
                   "(SELECT * FROM aid_cases "
                   f" WHERE case_id > {AFTER_UUID} ORDER BY case_id LIMIT %(limit)s) c "
                   "LEFT JOIN LATERAL (SELECT array_agg(action ORDER BY position) AS actions, "
                   "  array_agg(due_at ORDER BY position) AS due, "
                   "  array_agg(completed_at ORDER BY position) AS completed, "
                   "  array_agg(breached ORDER BY position) AS breached "
                   "  FROM case_actions WHERE case_id = c.case_id) a ON true ORDER BY c.case_id",
                   _case_state),
    SnapshotSource("service_request",
                   "SELECT r.request_id::text, r.person_id::text, r.jurisdiction_path, r.status, "
                   "r.submitted_online, r.submitted_at, r.arrival_due_at, r.dispatched_at, "
                   "r.arrived_at, r.escalated_at, r.meeting_due_at, r.resolved_at, "
                   "r.arrival_breached, r.meeting_breached, r.version FROM service_requests r "
                   f"WHERE r.request_id > {AFTER_UUID} ORDER BY r.request_id LIMIT %(limit)s",
                   _request_state),
    # Stock before loans: a loan's item is in its grid's stock.
    SnapshotSource("kit_stock",
                   "SELECT s.grid_code || ':' || s.item, s.grid_code, s.item, "
                   "s.jurisdiction_path, s.lendable, s.total, s.available, "
                   "s.low_stock_threshold, s.version FROM kit_stock s "
                   f"WHERE (s.grid_code, s.item) > ({_AFTER_A}, {_AFTER_B}) "
                   "ORDER BY s.grid_code, s.item LIMIT %(limit)s",
                   _stock_state),
    SnapshotSource("kit_loan",
                   "SELECT l.loan_id::text, l.grid_code, l.item, l.person_id::text, "
                   "l.jurisdiction_path, l.lent_at, l.returned_at FROM kit_loans l "
                   f"WHERE l.loan_id > {AFTER_UUID} ORDER BY l.loan_id LIMIT %(limit)s",
                   _loan_state),
    SnapshotSource("sickbed_schedule",
                   "SELECT s.person_id::text, s.jurisdiction_path, s.last_visit_at, "
                   "s.next_due_at, s.overdue_notified_at, s.version FROM sickbed_schedules s "
                   f"WHERE s.person_id > {AFTER_UUID} ORDER BY s.person_id LIMIT %(limit)s",
                   _schedule_state),
    # Budgets before decisions: a decision spent (or was refused by) its community's budget.
    SnapshotSource("relief_budget",
                   "SELECT b.community_path || ':' || b.year, b.community_path, b.year, "
                   "b.total_fen, b.granted_fen FROM relief_budgets b "
                   f"WHERE (b.community_path, b.year) > ({_AFTER_A}, "
                   f"coalesce(nullif({_AFTER_B}, '')::integer, 0)) "
                   "ORDER BY b.community_path, b.year LIMIT %(limit)s",
                   _budget_state),
    SnapshotSource("relief_decision",
                   "SELECT d.decision_id::text, d.household_id::text, d.jurisdiction_path, "
                   "d.granted, d.amount_fen, d.refusal_limit, d.excess_fen FROM relief_ledger d "
                   f"WHERE d.decision_id > {AFTER_UUID} ORDER BY d.decision_id LIMIT %(limit)s",
                   _decision_state),
]
