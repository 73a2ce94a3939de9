"""AuditService, served by every service over its own audit log (runtime.audit): an auditor finds
who read or changed a person's data, what an actor did, and what happened in a period. Only the
auditor role may call it (runtime.roles), and every search is itself recorded."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import TypeAlias

import grpc

from cdsp.audit.v1 import audit_pb2 as pb
from cdsp.audit.v1 import audit_pb2_grpc
from runtime.audit import entry
from runtime.auth import SYSTEM
from runtime.db import Database
from runtime.errors import Violations
from runtime.inputs import is_uuid, page_size
from runtime.timestamps import from_timestamp

Ctx: TypeAlias = grpc.aio.ServicerContext
# The kinds of record a bare id may be (the `*_id` fields of the platform's messages).
KINDS = ("person", "household", "case", "request", "loan", "placement", "enrolment",
         "pairing", "visit", "notice", "volunteer", "decision", "plan", "grant", "course",
         "post", "employer", "assessment", "recipient", "webhook")
COLUMNS = ("id, at, method, subject, role, issuer, token_id, request_id, outcome, records, "
           "filter, row_count, break_glass_reason")


def _token(audit_id: int) -> str:
    return base64.urlsafe_b64encode(str(audit_id).encode()).decode().rstrip("=")


def _after(token: str, v: Violations) -> int | None:
    if not token:
        return None
    try:
        return int(base64.urlsafe_b64decode(token.encode() + b"==").decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        v.add("page_token", "not a token this API issued")
        return None


class AuditServicer(audit_pb2_grpc.AuditServiceServicer):
    def __init__(self, db: Database) -> None:
        self.db = db

    async def SearchAudit(self, request: pb.SearchAuditRequest, context: Ctx
                          ) -> pb.SearchAuditResponse:
        v = Violations()
        where, params = ["true"], []  # type: list[str], list[object]
        record = request.record.strip()
        if record:
            wanted = [f"{k}:{record}" for k in KINDS] if is_uuid(record) else [record]
            v.check(len(record) <= 200 and (is_uuid(record) or (
                ":" in record and is_uuid(record.split(":", 1)[1]))), "record",
                "a record id, bare or as kind:id (person:<uuid>)")
            where.append("records && %s::text[]")
            params.append(wanted)
        if request.subject:
            v.check(len(request.subject) <= 200, "subject", "at most 200 characters")
            where.append("subject = %s")
            params.append(request.subject)
        since = from_timestamp(request.since, request.HasField("since"))
        until = from_timestamp(request.until, request.HasField("until")) or datetime.now(UTC)
        if since is not None:
            v.check(since <= until, "since", "must not be after until")
            where.append("at >= %s")
            params.append(since)
        where.append("at <= %s")
        params.append(until)
        if request.method:
            v.check(len(request.method) <= 200, "method", "at most 200 characters")
            where.append("(method = %s OR method LIKE %s)")
            params += [request.method, f"%/{request.method}"]
        after = _after(request.page_token, v)
        limit = page_size(request.page_size)
        v.raise_if_any()
        if after is not None:
            where.append("id < %s")
            params.append(after)
        async with self.db.unit_of_work(SYSTEM) as uow:
            rows = await uow.fetchall(f"SELECT {COLUMNS} FROM audit_log WHERE "
                                      f"{' AND '.join(where)} ORDER BY id DESC LIMIT %s",
                                      [*params, limit + 1])
        more = len(rows) > limit
        rows = rows[:limit]
        return pb.SearchAuditResponse(
            entries=[entry(r, self.db.service) for r in rows],
            next_page_token=_token(int(rows[-1][0])) if more and rows else "")
