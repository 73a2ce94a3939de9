"""Logging visits, and finding the visits that were missed.

A visit is logged by a worker of the person's jurisdictions for any visitor, or by a volunteer
(or family doctor) for themselves; the visitor must be actively paired with the person. Logging
locks the person, then the volunteer (so one volunteer's visits are checked for overlaps one at
a time), moves the person's schedule on, adds the minutes to the volunteer's service time and
announces VisitLogged, whose follow-up needs the registry records for the person.

The missed-visit scan runs in every replica as the system caller, at start-up and every
`scan_s`: each schedule whose due time passed is announced once per due time (VisitMissed, with
the visiting volunteer if any), by a conditional update that skips rows another replica holds;
a visit sets a new due time and the next miss is announced afresh. VisitMissed is keyed by the
person (aggregate care_schedule) and carries the schedule's colour version: a miss does not
change the schedule, and each is for its own due time.
"""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import Counter

from cdsp.events.v1 import volunteer_pb2 as ev
from runtime.auth import SYSTEM, Caller
from runtime.errors import FailedPrecondition, NotFound, PermissionDenied
from runtime.inputs import page_size, require_uuid, subtrees
from runtime.server import PeriodicJob
from runtime.timestamps import to_timestamp
from volunteer.adapters import person_store, visit_store
from volunteer.adapters.person_store import PersonRow
from volunteer.adapters.visit_store import VisitRow
from volunteer.config import COLOUR_NAMES, Volunteers
from volunteer.domain import schedule, visits
from volunteer.domain.visits import NewVisit
from volunteer.service.access import READ_ROLES, VISIT_ROLES, WORKER_ROLES, load_person

SCAN_BATCH = 1000
VISITS_MISSED = Counter(
    "cdsp_volunteer_visits_missed_total",
    "Visits found missed (a schedule past its due time), by risk colour; each due time counted "
    "once, by the process whose scan announced it", ["colour"])
for _name in COLOUR_NAMES.values():
    VISITS_MISSED.labels(_name)


def visit_logged(row: VisitRow) -> ev.VisitLogged:
    """The event of a logged visit; its snapshot too (a visit never changes). What the visitor
    found in their own words (health, needs, safety) stays in the service."""
    return ev.VisitLogged(visit_id=row.visit_id, person_id=row.person_id,
                          volunteer_id=row.volunteer_id, by_phone=row.by_phone,
                          visited_at=to_timestamp(row.visited_at),
                          duration_minutes=row.duration_minutes,
                          follow_up_needs=row.follow_up_needs, safety_concern=row.safety_concern)


async def log_visit(v: Volunteers, caller: Caller, new: NewVisit) -> VisitRow:
    caller.require_role(*VISIT_ROLES)
    require_uuid(new.person_id, "person_id")
    volunteer_id = require_uuid(new.volunteer_id, "volunteer_id")
    visit = visits.check(new, datetime.now(UTC))
    assert visit.visited_at is not None
    if caller.role not in WORKER_ROLES and caller.subject != volunteer_id:
        raise PermissionDenied("a volunteer logs only their own visits (volunteer_id must be "
                               "yours)")
    ends = visits.ends_at(visit.visited_at, visit.duration_minutes)
    async with v.db.unit_of_work(caller) as uow:
        person = await load_person(uow, visit.person_id, lock=True)
        async with visit_store.everywhere(uow):
            if not await visit_store.lock_volunteer(uow, volunteer_id):
                raise NotFound(f"no volunteer {volunteer_id} (volunteer_id)")
            if not await visit_store.paired(uow, person.person_id, volunteer_id):
                raise FailedPrecondition("the volunteer is not paired with the person: only "
                                         "an active pairing's visitor logs visits")
            other = await visit_store.overlapping(uow, volunteer_id, visit.visited_at, ends)
            if other is not None:
                raise FailedPrecondition(visits.overlap_message(*other, v.local_tz))
            await visit_store.add_service_minutes(uow, volunteer_id, visit.duration_minutes)
        row = await visit_store.insert(uow, visit, person, ends)
        due = schedule.next_due(person.colour, visit.visited_at, visit.visited_at,
                                v.rules.hours_for(person.living_alone))
        await person_store.record_visit(uow, person.person_id, visit.visited_at, due)
        uow.record(visit_logged(row), aggregate_type="visit", aggregate_id=row.visit_id, version=1,
                   jurisdiction_path=person.jurisdiction_path)
    return row


async def list_missed(v: Volunteers, caller: Caller, path: str, size: int) -> list[PersonRow]:
    """Schedules past their due time in a subtree (all of the caller's when empty), most
    overdue first."""
    caller.require_role(*READ_ROLES)
    limit = page_size(size)
    paths = subtrees(caller, path)
    async with v.db.unit_of_work(caller) as uow:
        return await visit_store.list_missed(uow, paths, limit)


async def scan_missed(v: Volunteers, batch: int = SCAN_BATCH) -> dict[str, int]:
    """Announces every schedule that fell due since the last scan; returns how many."""
    found = 0
    while True:
        async with v.db.unit_of_work(SYSTEM) as uow:
            missed = await visit_store.mark_missed(uow, batch)
            for m in missed:
                uow.record(ev.VisitMissed(person_id=m.person_id,
                                          colour=m.colour,  # type: ignore[arg-type]
                                          due_at=to_timestamp(m.due_at),
                                          last_visit_at=to_timestamp(m.last_visit_at),
                                          volunteer_id=m.volunteer_id),
                           aggregate_type="care_schedule", aggregate_id=m.person_id,
                           version=m.colour_version, jurisdiction_path=m.jurisdiction_path)
        for m in missed:   # counted once committed
            VISITS_MISSED.labels(schedule.colour_name(m.colour)).inc()
        found += len(missed)
        if len(missed) < batch:
            return {"missed": found}


def visit_jobs(v: Volunteers) -> list[PeriodicJob]:
    return [PeriodicJob("missed-visit-scan", v.rules.scan_s, lambda: scan_missed(v))]
