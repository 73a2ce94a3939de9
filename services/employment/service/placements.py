"""Placement in a post, its end, follow-up visits and the follow-up scan.

Placing locks the person's candidate row, then the post's: placements of one person are
serialised (and the partial unique index on active full-time placements refuses a second one
whatever happens), placements into one post too, so a post is never filled beyond its openings.
A placement is filed under the person's jurisdiction; the post must be one the caller sees.

The follow-up scan runs in every replica as the system caller, at start-up and every
`follow_up_scan_s`: it announces each follow-up that fell due (FollowUpDue, once per due date)
and each past due by more than OVERDUE_GRACE (FollowUpOverdue, once per due date). Marking is a
conditional update that skips rows another replica holds, so each is announced once; a visit
schedules the next due date and both notices start afresh for it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import NoReturn

from google.protobuf.message import Message
from prometheus_client import Counter

from cdsp.common.v1 import common_pb2 as common
from cdsp.events.v1 import employment_pb2 as ev
from employment.adapters import candidate_store, placement_store
from employment.adapters.placement_store import PlacementRow
from employment.config import Employment
from employment.domain import placements as rules
from employment.domain.placements import ACTIVE, ENTERPRISE, OVERDUE_GRACE
from employment.service.access import (
    MANAGER_ROLES,
    READ_ROLES,
    WORKER_ROLES,
    load_candidate,
    require_working_age,
)
from runtime.auth import SYSTEM, Caller
from runtime.db import UnitOfWork
from runtime.errors import FailedPrecondition, NotFound, PermissionDenied, Violations
from runtime.inputs import require_uuid, subtrees
from runtime.server import PeriodicJob
from runtime.sql import filed_under
from runtime.timestamps import to_timestamp

SCAN_BATCH = 500
FOLLOW_UPS_OVERDUE = Counter(
    "cdsp_employment_follow_ups_overdue_total",
    "Follow-up visits found past due by more than the grace (7 days), each counted once by the "
    "process whose scan announced it")


def pb_date(d: date | None) -> common.Date | None:
    return common.Date(year=d.year, month=d.month, day=d.day) if d else None


def _record(uow: UnitOfWork, p: PlacementRow, payload: Message) -> None:
    uow.record(payload, aggregate_type="employment_placement", aggregate_id=p.placement_id,
               version=p.version, jurisdiction_path=p.jurisdiction_path)


async def not_visible(uow: UnitOfWork, table: str, key: str, value: str, what: str
                      ) -> NoReturn:
    if await filed_under(uow, table, key, value) is not None:
        raise PermissionDenied(f"that {what} is outside your jurisdictions")
    raise NotFound(f"no {what} {value}")


async def load_placement(uow: UnitOfWork, placement_id: str, lock: bool = False
                         ) -> PlacementRow:
    require_uuid(placement_id, "placement_id")
    found = await placement_store.get(uow, placement_id, lock=lock)
    if found is None:
        await not_visible(uow, "placements", "placement_id", placement_id, "placement")
    return found


def _require_active(p: PlacementRow) -> None:
    if p.status != ACTIVE:
        raise FailedPrecondition(f"the placement ended on {p.end_date}: it is no longer active")


async def place(emp: Employment, caller: Caller, person_id: str, post_id: str, start_ymd: rules.Ymd
                ) -> PlacementRow:
    caller.require_role(*MANAGER_ROLES)
    require_uuid(post_id, "post_id")
    today = datetime.now(emp.local_tz).date()
    v = Violations()
    start = rules.check_start(rules.to_date(start_ymd, "start_date", v), today, v)
    v.raise_if_any()
    async with emp.db.unit_of_work(caller) as uow:
        person = await load_candidate(uow, person_id, lock=True)
        require_working_age(emp, person, today)
        if person.placed_full_time:
            raise FailedPrecondition("the person is already placed full-time: end that "
                                     "placement before placing them again")
        post = await placement_store.get_post(uow, post_id)
        if post is None:
            await not_visible(uow, "posts", "post_id", post_id, "post")
        if not post.open:
            raise FailedPrecondition("the post is closed")
        if post.filled >= post.openings:
            raise FailedPrecondition(f"the post is full: {post.filled} of {post.openings} "
                                     "openings filled")
        subsidy = 0
        if post.kind == ENTERPRISE and post.employer_id:
            subsidy = await placement_store.employer_subsidy(uow, post.employer_id)
        due = rules.follow_up_due(start, emp.rules.follow_up_months, emp.local_tz)
        placed = await placement_store.insert(uow, person.person_id, person.jurisdiction_path,
                                              post, start, subsidy, due)
        if placed is None:
            raise FailedPrecondition("the person is already placed full-time")
        await placement_store.change_filled(uow, post.post_id, 1)
        if placed.full_time:
            await candidate_store.set_placed_full_time(uow, person.person_id, True)
        _record(uow, placed, ev.Placed(
            placement_id=placed.placement_id, person_id=placed.person_id, post_id=post.post_id,
            employer_id=placed.employer_id, full_time=placed.full_time,
            start_date=pb_date(start), monthly_subsidy_fen=subsidy))
    return placed


async def end_placement(emp: Employment, caller: Caller, placement_id: str, reason: str,
                        end_ymd: rules.Ymd) -> PlacementRow:
    caller.require_role(*MANAGER_ROLES)
    today = datetime.now(emp.local_tz).date()
    v = Violations()
    end = rules.to_date(end_ymd, "end_date", v)
    rules.check_reason(reason, end, today, v)
    v.raise_if_any()
    async with emp.db.unit_of_work(caller) as uow:
        found = await load_placement(uow, placement_id)
        await placement_store.lock_person(uow, found.person_id)  # candidate, then placement
        p = await load_placement(uow, placement_id, lock=True)
        _require_active(p)
        rules.check_after_start(end or today, p.start_date, "end_date")
        p = await placement_store.end(uow, p.placement_id, end or today, reason.strip())
        await placement_store.change_filled(uow, p.post_id, -1)
        if p.full_time:
            await candidate_store.set_placed_full_time(uow, p.person_id, False)
        _record(uow, p, ev.PlacementEnded(placement_id=p.placement_id, person_id=p.person_id,
                                          reason=p.end_reason, end_date=pb_date(p.end_date)))
    return p


async def record_follow_up(emp: Employment, caller: Caller, placement_id: str,
                           visited_at: datetime | None, wage_fen: int, adaptation: str,
                           rights_issues: str) -> PlacementRow:
    """Records a visit to an active placement and schedules the next, `follow_up_months` after
    the latest visit."""
    caller.require_role(*WORKER_ROLES)
    now = datetime.now(UTC)
    visited = visited_at or now
    rules.check_follow_up(visited, now, wage_fen, adaptation, rights_issues)
    async with emp.db.unit_of_work(caller) as uow:
        p = await load_placement(uow, placement_id, lock=True)
        _require_active(p)
        rules.check_after_start(visited.astimezone(emp.local_tz).date(), p.start_date,
                                "visited_at")
        last = max(visited, p.last_follow_up_at or visited)
        due = rules.follow_up_due(last.astimezone(emp.local_tz).date(),
                                  emp.rules.follow_up_months, emp.local_tz)
        return await placement_store.add_follow_up(uow, p, visited, wage_fen,
                                                   adaptation.strip(), rights_issues.strip(),
                                                   last, due)


async def list_overdue(emp: Employment, caller: Caller, path: str) -> list[PlacementRow]:
    """Active placements whose follow-up is past due by more than the grace, oldest first."""
    caller.require_role(*READ_ROLES)
    paths = subtrees(caller, path)
    async with emp.db.unit_of_work(caller) as uow:
        return await placement_store.list_overdue(uow, paths,
                                                  datetime.now(UTC) - OVERDUE_GRACE)


async def scan_follow_ups(emp: Employment) -> dict[str, int]:
    """Announces follow-ups that fell due, then those overdue; returns how many of each."""
    now = datetime.now(UTC)
    found = {"due": 0, "overdue": 0}
    for kind, before in (("due", now), ("overdue", now - OVERDUE_GRACE)):
        event = ev.FollowUpDue if kind == "due" else ev.FollowUpOverdue
        while True:
            async with emp.db.unit_of_work(SYSTEM) as uow:
                batch = await placement_store.mark_notified(uow, kind, before, SCAN_BATCH)
                for p in batch:
                    _record(uow, p, event(placement_id=p.placement_id, person_id=p.person_id,
                                          due_at=to_timestamp(p.next_follow_up_due)))
            if kind == "overdue":
                FOLLOW_UPS_OVERDUE.inc(len(batch))  # counted once committed
            found[kind] += len(batch)
            if len(batch) < SCAN_BATCH:
                break
    return found


def placement_jobs(emp: Employment) -> list[PeriodicJob]:
    return [PeriodicJob("follow-up-scan", emp.rules.follow_up_scan_s,
                        lambda: scan_follow_ups(emp))]
