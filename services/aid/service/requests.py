"""Use cases of the service loop: submit, dispatch, arrive, escalate, resolve; SLA scans.

Each step is one unit of work: the row changes, its version moves on by one, and the event the
step causes is recorded with that version (submission causes none: the loop's events start with
the dispatch). The deadline scan runs in every replica as the system caller; marking a breach is
a conditional update, so replicas scanning at once report each breach once.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from google.protobuf.message import Message

from aid.adapters import request_store
from aid.adapters.request_store import Compliance
from aid.config import Aid
from aid.domain import requests
from aid.domain.requests import ARRIVAL, MEETING, ServiceRequest
from aid.metrics import SLA_BREACHES
from aid.service.access import READ_ROLES, WORKER_ROLES, load_person_path, not_visible
from cdsp.events.v1 import aid_pb2 as ev
from runtime.auth import SYSTEM, Caller
from runtime.db import UnitOfWork
from runtime.errors import FieldViolation, InvalidArgument
from runtime.inputs import decode_page_token, next_page, page_size, require_uuid, subtrees
from runtime.server import PeriodicJob
from runtime.timestamps import to_timestamp

CLOCK_SKEW = timedelta(minutes=2)
COMPLIANCE_PERIOD = timedelta(days=30)
SCAN_BATCH = 500


def _record(uow: UnitOfWork, request: ServiceRequest, payload: Message) -> None:
    uow.record(payload, aggregate_type="service_request", aggregate_id=request.request_id,
               version=request.version, jurisdiction_path=request.jurisdiction_path)


async def load_request(uow: UnitOfWork, request_id: str, lock: bool = False) -> ServiceRequest:
    require_uuid(request_id, "request_id")
    request = await request_store.get_request(uow, request_id, lock=lock)
    if request is not None:
        return request
    await not_visible(uow, "service_requests", "request_id", request_id, "request")


async def submit(aid: Aid, caller: Caller, person_id: str, description: str,
                 submitted_online: bool) -> ServiceRequest:
    """An urgent request for an active person in the caller's scope; its arrival deadline runs
    from now."""
    caller.require_role(*WORKER_ROLES)
    description = requests.validate_description(description)
    async with aid.db.unit_of_work(caller) as uow:
        path = await load_person_path(uow, person_id)
        request = requests.new_request(str(uuid.uuid4()), require_uuid(person_id, "person_id"),
                                       path, description, submitted_online, datetime.now(UTC),
                                       aid.rules)
        return await request_store.insert_request(uow, request)


async def dispatch(aid: Aid, caller: Caller, request_id: str, team: str) -> ServiceRequest:
    caller.require_role(*WORKER_ROLES)
    team = requests.validate_team(team)
    async with aid.db.unit_of_work(caller) as uow:
        request = await load_request(uow, request_id, lock=True)
        requests.dispatch(request, team, datetime.now(UTC))
        request = await request_store.update_request(uow, request)
        _record(uow, request, ev.RequestDispatched(
            request_id=request.request_id, team=request.team, person_id=request.person_id,
            arrival_due_at=to_timestamp(request.arrival_due_at)))
        return request


async def arrive(aid: Aid, caller: Caller, request_id: str, arrived_at: datetime | None
                 ) -> ServiceRequest:
    """Records the team on site; a late arrival is recorded too (on_time false) and marks the
    arrival deadline breached if the scan had not yet."""
    caller.require_role(*WORKER_ROLES)
    now = datetime.now(UTC)
    if arrived_at is not None and arrived_at > now + CLOCK_SKEW:
        raise InvalidArgument([FieldViolation("arrived_at", "cannot be in the future")])
    async with aid.db.unit_of_work(caller) as uow:
        request = await load_request(uow, request_id, lock=True)
        breached = requests.arrive(request, arrived_at or now)
        request = await request_store.update_request(uow, request)
        _record(uow, request, ev.RequestArrived(request_id=request.request_id,
                                                on_time=request.arrived_on_time))
    if breached:
        SLA_BREACHES.labels(deadline=ARRIVAL).inc()
    return request


async def escalate(aid: Aid, caller: Caller, request_id: str, reason: str) -> ServiceRequest:
    """What the team could not solve on site goes to the association meeting."""
    caller.require_role(*WORKER_ROLES)
    reason = requests.validate_reason(reason)
    async with aid.db.unit_of_work(caller) as uow:
        request = await load_request(uow, request_id, lock=True)
        requests.escalate(request, reason, datetime.now(UTC), aid.rules)
        request = await request_store.update_request(uow, request)
        _record(uow, request, ev.RequestEscalated(
            request_id=request.request_id,
            meeting_due_at=to_timestamp(request.meeting_due_at)))
        return request


async def resolve(aid: Aid, caller: Caller, request_id: str, result: str) -> ServiceRequest:
    """The result fed back, on site or after the meeting."""
    caller.require_role(*WORKER_ROLES)
    result = requests.validate_result(result)
    async with aid.db.unit_of_work(caller) as uow:
        request = await load_request(uow, request_id, lock=True)
        breached = requests.resolve(request, result, datetime.now(UTC))
        request = await request_store.update_request(uow, request)
        _record(uow, request, ev.RequestResolved(request_id=request.request_id,
                                                 result=request.result))
    if breached:
        SLA_BREACHES.labels(deadline=MEETING).inc()
    return request


async def get_request(aid: Aid, caller: Caller, request_id: str) -> ServiceRequest:
    caller.require_role(*READ_ROLES)
    async with aid.db.unit_of_work(caller) as uow:
        return await load_request(uow, request_id)


async def list_requests(aid: Aid, caller: Caller, path: str, include_resolved: bool, size: int,
                        token: str) -> tuple[list[ServiceRequest], str]:
    """The requests of the caller's jurisdictions (or the subtree `path`), newest first; open
    ones only unless `include_resolved`."""
    caller.require_role(*READ_ROLES)
    paths = subtrees(caller, path)
    limit = page_size(size)
    after = decode_page_token(token)
    async with aid.db.unit_of_work(caller) as uow:
        rows = await request_store.list_requests(uow, paths, include_resolved, after, limit + 1)
    return next_page(rows, limit, lambda request: request.request_id)


async def sla_compliance(aid: Aid, caller: Caller, path: str, since: datetime | None
                         ) -> tuple[str, Compliance]:
    """The requests submitted since `since` (default: 30 days ago) under `path` (default: all
    of the caller's jurisdictions); returns the path reported and the counts."""
    caller.require_role(*READ_ROLES)
    paths = subtrees(caller, path)
    now = datetime.now(UTC)
    if since is not None and since > now + CLOCK_SKEW:
        raise InvalidArgument([FieldViolation("since", "cannot be in the future")])
    async with aid.db.unit_of_work(caller) as uow:
        counts = await request_store.compliance(uow, paths, since or now - COMPLIANCE_PERIOD,
                                                now)
    return path or (paths[0] if len(paths) == 1 else ""), counts


async def scan_deadlines(aid: Aid) -> dict[str, int]:
    """Marks every deadline that passed without its step (arrival; the meeting of an escalated
    request) and records one SlaBreached for each; returns how many of each it marked. Runs at
    start-up too, so what passed while no replica was running is found when one is back."""
    now = datetime.now(UTC)
    marked = {ARRIVAL: 0, MEETING: 0}
    for deadline in (ARRIVAL, MEETING):
        while True:
            async with aid.db.unit_of_work(SYSTEM) as uow:
                batch = await request_store.mark_breached(uow, deadline, now, SCAN_BATCH)
                for request in batch:
                    due = request.arrival_due_at if deadline == ARRIVAL else request.meeting_due_at
                    _record(uow, request, ev.SlaBreached(
                        request_id=request.request_id, deadline=deadline,
                        due_at=to_timestamp(due), jurisdiction_path=request.jurisdiction_path))
            SLA_BREACHES.labels(deadline=deadline).inc(len(batch))  # counted once committed
            marked[deadline] += len(batch)
            if len(batch) < SCAN_BATCH:
                break
    return marked


def request_jobs(aid: Aid) -> list[PeriodicJob]:
    return [PeriodicJob("sla-scan", aid.rules.scan_interval_s, lambda: scan_deadlines(aid))]
