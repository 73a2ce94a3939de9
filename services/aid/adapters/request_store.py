"""SQL for service requests (the 30-minute response loop) and their deadline scans."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aid.domain.requests import ServiceRequest
from runtime.db import UnitOfWork
from runtime.sql import in_subtrees

_REQUEST = ("request_id::text, person_id::text, jurisdiction_path, description, status, "
            "submitted_online, submitted_at, arrival_due_at, team, dispatched_at, arrived_at, "
            "escalated_at, escalation_reason, meeting_due_at, resolved_at, result, "
            "arrival_breached, meeting_breached, version")


def _request(row: Any) -> ServiceRequest:
    return ServiceRequest(*row)


async def insert_request(uow: UnitOfWork, r: ServiceRequest) -> ServiceRequest:
    row = await uow.fetchone(
        "INSERT INTO service_requests (request_id, person_id, jurisdiction_path, description, "
        "status, submitted_online, submitted_by, submitted_at, arrival_due_at) "
        f"VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_REQUEST}",
        [r.request_id, r.person_id, r.jurisdiction_path, r.description, r.status,
         r.submitted_online, uow.caller.subject, r.submitted_at, r.arrival_due_at])
    assert row is not None
    return _request(row)


async def get_request(uow: UnitOfWork, request_id: str, lock: bool = False
                      ) -> ServiceRequest | None:
    row = await uow.fetchone(f"SELECT {_REQUEST} FROM service_requests WHERE request_id = %s"
                             + (" FOR UPDATE" if lock else ""), [request_id])
    return _request(row) if row else None


async def update_request(uow: UnitOfWork, r: ServiceRequest) -> ServiceRequest:
    """Writes the steps' fields and moves the version on by one."""
    row = await uow.fetchone(
        "UPDATE service_requests SET status = %s, team = %s, dispatched_at = %s, "
        "arrived_at = %s, escalated_at = %s, escalation_reason = %s, meeting_due_at = %s, "
        "resolved_at = %s, result = %s, arrival_breached = %s, meeting_breached = %s, "
        f"version = version + 1 WHERE request_id = %s RETURNING {_REQUEST}",
        [r.status, r.team, r.dispatched_at, r.arrived_at, r.escalated_at, r.escalation_reason,
         r.meeting_due_at, r.resolved_at, r.result, r.arrival_breached, r.meeting_breached,
         r.request_id])
    assert row is not None
    return _request(row)


async def list_requests(uow: UnitOfWork, paths: list[str], include_resolved: bool, after: str,
                        limit: int) -> list[ServiceRequest]:
    """The requests under the paths, newest submitted first (ties by id); `after` is the last
    request of the previous page."""
    subtree, params = in_subtrees(paths, "jurisdiction_path")
    where = [subtree]
    if not include_resolved:
        where.append("status < 5")
    if after:
        where.append("(submitted_at, request_id) < (SELECT submitted_at, request_id "
                     "FROM service_requests WHERE request_id = %s)")
        params.append(after)
    rows = await uow.fetchall(
        f"SELECT {_REQUEST} FROM service_requests WHERE {' AND '.join(where)} "
        "ORDER BY submitted_at DESC, request_id DESC LIMIT %s", [*params, limit])
    return [_request(r) for r in rows]


# The deadline scans. Each marks what it finds in the same statement that finds it, and only a
# row still unmarked: two replicas scanning at once never mark (nor report) a deadline twice —
# SKIP LOCKED leaves a row another scan is marking to that scan, and the WHERE is checked again
# on the locked row.
_MARK = {
    "arrival": ("arrival_breached", "arrival_due_at",
                "arrived_at IS NULL AND NOT arrival_breached"),
    "meeting": ("meeting_breached", "meeting_due_at",
                "escalated_at IS NOT NULL AND resolved_at IS NULL AND NOT meeting_breached"),
}


async def mark_breached(uow: UnitOfWork, deadline: str, now: datetime, limit: int
                        ) -> list[ServiceRequest]:
    """Marks up to `limit` requests whose `deadline` passed before `now` without its step."""
    flag, due, still_open = _MARK[deadline]
    rows = await uow.fetchall(
        f"UPDATE service_requests SET {flag} = true, version = version + 1 "
        f"WHERE request_id IN (SELECT request_id FROM service_requests "
        f"WHERE {still_open} AND {due} < %s ORDER BY {due} LIMIT %s FOR UPDATE SKIP LOCKED) "
        f"AND {still_open} RETURNING {_REQUEST}", [now, limit])
    return [_request(r) for r in rows]


@dataclass(frozen=True)
class Compliance:
    requests_due: int
    arrived_on_time: int
    escalations_due: int
    meetings_on_time: int
    submitted_online: int
    submitted_total: int


async def compliance(uow: UnitOfWork, paths: list[str], since: datetime, now: datetime
                     ) -> Compliance:
    """Counts the requests submitted since `since` under the paths: a deadline is due when it
    has passed or its step was taken (on time or not)."""
    subtree, params = in_subtrees(paths, "jurisdiction_path")
    row = await uow.fetchone(
        "SELECT count(*) FILTER (WHERE arrived_at IS NOT NULL OR arrival_due_at <= %s), "
        "count(*) FILTER (WHERE arrived_at <= arrival_due_at), "
        "count(*) FILTER (WHERE escalated_at IS NOT NULL "
        "                 AND (resolved_at IS NOT NULL OR meeting_due_at <= %s)), "
        "count(*) FILTER (WHERE escalated_at IS NOT NULL AND resolved_at <= meeting_due_at), "
        "count(*) FILTER (WHERE submitted_online), count(*) "
        f"FROM service_requests WHERE {subtree} AND submitted_at >= %s",
        [now, now, *params, since])
    assert row is not None
    return Compliance(*row)
