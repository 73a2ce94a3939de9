"""The audit log: every call that reads or changes personal data leaves a record, written before
the response leaves the service.

Which calls: those runtime.roles marks as personal (and every search of the audit log itself),
whatever their outcome: a refused or failed attempt is recorded too. What: who (subject, role,
issuer, token id), when, which method, the request id, the outcome (status code), which records
it returned or changed (the ids of the request and of the response, "person:<id>",
"household:<id>", ..., from every `*_id`/`*_ids` field holding a UUID), what selected them (the
request's paths, codes, flags and numbers: never a name, an address, a note or any other text a
caller typed), how many rows, and a break-glass reason. The row and an AuditRecorded event for
the central store (cdsp.audit.v1) are written in one transaction; a break-glass read also
announces BreakGlassUsed to each jurisdiction the records are filed under.

If the record cannot be written (the database is down) the call fails (UNAVAILABLE) instead of
answering: no personal data leaves unrecorded. A write that committed before its record failed
still has its own event on the service's topic.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from psycopg.types.json import Jsonb

from cdsp.events.v1 import audit_pb2
from runtime.auth import SYSTEM, Caller
from runtime.db import Database, UnitOfWork
from runtime.timestamps import to_timestamp

AUDIT_TOPIC = "cdsp.audit.v1"
# Request fields (top level) that say what was selected without saying anything about a person.
FILTER_SUFFIXES = ("_path", "_code", "_group", "_type", "_level", "_status")
MAX_RECORDS = 1000
_STRING, _MESSAGE = FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_MESSAGE
_SCALARS = {FieldDescriptor.TYPE_BOOL, FieldDescriptor.TYPE_ENUM, FieldDescriptor.TYPE_INT32,
            FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_UINT64}


def _nested(field: FieldDescriptor) -> bool:
    """A message field to walk into (not a map's entries)."""
    return (field.type == _MESSAGE and field.message_type is not None
            and not field.message_type.GetOptions().map_entry)


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _is_uuid(value: str) -> bool:
    if len(value) < 32:  # the shortest form uuid.UUID reads: 32 hex digits
        return False
    if _CANONICAL_UUID.fullmatch(value):  # how the services write them: no parsing needed
        return True
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# What to read of a message type, in field-number order (as ListFields gives them): its id
# fields (name, kind, repeated) and the message fields that can lead to one (name, None, repeated).
# Made once per type: a list of 200 persons walks only what can hold an id, not every need,
# date and service record of each.
_Plan = tuple[tuple[str, str | None, bool], ...]
_PLANS: dict[str, _Plan] = {}


def _plan(descriptor: Any, visiting: frozenset[str] = frozenset()) -> _Plan:
    known = _PLANS.get(descriptor.full_name)
    if known is not None:
        return known
    steps: list[tuple[str, str | None, bool]] = []
    for field in sorted(descriptor.fields, key=lambda f: f.number):
        if field.type == _STRING and field.name.endswith(("_id", "_ids")):
            steps.append((field.name, field.name.rsplit("_id", 1)[0], field.is_repeated))
        elif (_nested(field) and field.message_type.full_name not in visiting
              and _plan(field.message_type, visiting | {descriptor.full_name})):
            steps.append((field.name, None, field.is_repeated))
    plan = tuple(steps)
    if not visiting:  # a plan made while a type on the path was unfinished may be short
        _PLANS[descriptor.full_name] = plan
    return plan


def _ids(message: Message) -> Iterator[str]:
    for name, kind, repeated in _plan(message.DESCRIPTOR):
        if kind is not None:
            value = getattr(message, name)
            for item in (value if repeated else [value]):
                if _is_uuid(item):
                    yield f"{kind}:{item}"
        elif repeated:
            for item in getattr(message, name):
                yield from _ids(item)
        elif message.HasField(name):
            yield from _ids(getattr(message, name))


def records(*messages: Message | None) -> list[str]:
    """The ids a request and its response name, each once, in order (at most MAX_RECORDS)."""
    found: dict[str, None] = {}
    for message in messages:
        if message is not None:
            for key in _ids(message):
                found.setdefault(key, None)
                if len(found) >= MAX_RECORDS:
                    return list(found)
    return list(found)


def selection(request: Message | None) -> dict[str, str]:
    """What selected the records: the request's top-level flags, numbers, enums and path/code
    fields. Free text (names, notes, addresses, reasons) is never copied into the log."""
    chosen: dict[str, str] = {}
    if request is None:
        return chosen
    for field, value in request.ListFields():
        if field.is_repeated or field.name.endswith("_token"):
            continue
        if field.type in _SCALARS or (field.type == _STRING and
                                      field.name.endswith(FILTER_SUFFIXES)):
            chosen[field.name] = str(value)
    return chosen


def row_count(response: Message | None) -> int:
    """How many rows a response holds: the items of its repeated message fields, or 1."""
    if response is None:
        return 0
    listed = [len(v) for f, v in response.ListFields() if _nested(f) and f.is_repeated]
    return sum(listed) if listed else 1


def paths(response: Message | None) -> list[str]:
    """The jurisdiction paths the response's records are filed under (for break-glass)."""
    found: dict[str, None] = {}

    def walk(message: Message) -> None:
        for field, value in message.ListFields():
            if field.type == _STRING and field.name == "jurisdiction_path" and value:
                found.setdefault(value, None)
            elif _nested(field):
                for item in (value if field.is_repeated else [value]):
                    walk(item)

    if response is not None:
        walk(response)
    return list(found)


class Auditor:
    """Writes a service's audit records (runtime.interceptors calls it for audited methods)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, method: str, caller: Caller | None, request_id: str, outcome: str,
                     request: Message | None, response: Message | None,
                     streamed: int | None = None) -> int:
        """Writes the record (and its events); returns its id."""
        who = caller or Caller("", "", ())
        touched = records(request, response)
        count = streamed if streamed is not None else row_count(response)
        async with self.db.unit_of_work(SYSTEM) as uow:
            row = await uow.fetchone(
                "INSERT INTO audit_log (method, subject, role, issuer, token_id, request_id, "
                "outcome, records, filter, row_count, break_glass_reason) VALUES (%s, %s, %s, "
                "%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id, at",
                [method, who.subject, who.role, who.issuer, who.token_id, request_id, outcome,
                 touched, Jsonb(selection(request)), count, who.break_glass])
            assert row is not None
            audit_id, at = int(row[0]), row[1]
            self._announce(uow, audit_id, at, method, who, request_id, outcome, touched,
                           selection(request), count, response)
        return audit_id

    def _announce(self, uow: UnitOfWork, audit_id: int, at: datetime, method: str,
                  who: Caller, request_id: str, outcome: str, touched: list[str],
                  chosen: dict[str, str], count: int, response: Message | None) -> None:
        service = self.db.service
        uow.record(audit_pb2.AuditRecorded(
            audit_id=audit_id, at=to_timestamp(at), service=service, method=method,
            subject=who.subject, role=who.role, issuer=who.issuer, token_id=who.token_id,
            request_id=request_id, outcome=outcome, records=touched, filter=chosen,
            row_count=count, break_glass_reason=who.break_glass),
            aggregate_type="audit", aggregate_id=f"{service}:{audit_id}", version=1,
            jurisdiction_path="/", topic=AUDIT_TOPIC)
        if not who.break_glass or outcome != "OK":
            return
        for path in paths(response) or ["/"]:
            uow.record(audit_pb2.BreakGlassUsed(
                service=service, method=method, subject=who.subject, reason=who.break_glass,
                records=touched, request_id=request_id),
                aggregate_type="break_glass", aggregate_id=f"{service}:{audit_id}", version=1,
                jurisdiction_path=path, topic=AUDIT_TOPIC)


def entry(row: Any, service: str) -> audit_pb2.AuditRecorded:
    """A row of audit_log (the columns of runtime.audit_api) as the event message."""
    return audit_pb2.AuditRecorded(
        audit_id=row[0], at=to_timestamp(row[1]), service=service, method=row[2],
        subject=row[3], role=row[4], issuer=row[5], token_id=row[6], request_id=row[7],
        outcome=row[8], records=list(row[9]), filter={k: str(v) for k, v in row[10].items()},
        row_count=row[11], break_glass_reason=row[12])


async def purge_expired(db: Database, retention_days: int) -> int:
    """Removes audit records older than `retention_days` (CDSP_AUDIT_RETENTION_DAYS, at least
    183: the table's own policy refuses to delete anything younger), in batches."""
    removed = 0
    while True:
        async with db.unit_of_work(SYSTEM) as uow:
            rows = await uow.fetchall(
                "DELETE FROM audit_log WHERE id = ANY(ARRAY(SELECT id FROM audit_log "
                "WHERE at < now() - make_interval(days => %s) ORDER BY id LIMIT 10000)) "
                "RETURNING 1", [retention_days])
        removed += len(rows)
        if len(rows) < 10_000:
            return removed
