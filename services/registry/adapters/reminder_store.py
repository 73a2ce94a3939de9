"""SQL for the reminders the registry announces once each: a month's check of a record
(VerificationDue, VerificationOverdue) and a certificate application (CertificationDue).

Every scan claims a batch and marks it in one statement: UPDATE ... WHERE person_id IN (SELECT
... LIMIT n FOR UPDATE SKIP LOCKED), with the condition repeated outside so a row another
replica marked meanwhile is left alone. Replicas scanning at once take disjoint batches, and a
row is marked in the same transaction as its event, so it is announced once. Only the marks are
written: not the version, not updated_at (a reminder is not a change of the record, and a worker
editing it must not find their expected_version stale).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from runtime.db import UnitOfWork

# The month marks (see migration 0004): "due" for VerificationDue, "overdue" for
# VerificationOverdue.
MONTH_MARKS = {"due": "verification_due_month", "overdue": "verification_overdue_month"}


@dataclass(frozen=True)
class Claimed:
    """A person a scan claimed, as the record stands once locked."""

    person_id: str
    jurisdiction_path: str
    version: int
    last_verified_at: datetime | None
    birth_date: date


_RETURNING = "RETURNING person_id::text, jurisdiction_path, version, last_verified_at, birth_date"


async def claim_for_month(uow: UnitOfWork, mark: str, month: date, limit: int
                          ) -> list[Claimed]:
    """Marks up to `limit` active persons not yet dealt with for `month` (the 1st, local) in
    the `mark` column, due or not: one verified since the 1st needs nothing this month, and
    marking them too keeps the month's later rounds from reading them again."""
    column = MONTH_MARKS[mark]
    pending = f"status = 1 AND ({column} IS NULL OR {column} < %(month)s)"
    rows = await uow.fetchall(
        f"UPDATE persons SET {column} = %(month)s WHERE person_id IN ("
        f"SELECT person_id FROM persons WHERE {pending} LIMIT %(limit)s FOR UPDATE SKIP LOCKED) "
        f"AND {pending} {_RETURNING}", {"month": month, "limit": limit})
    return [Claimed(*r) for r in rows]


async def claim_certification_due(uow: UnitOfWork, born_by: date, at: datetime, limit: int
                                  ) -> list[Claimed]:
    """Marks up to `limit` active uncertified persons born by `born_by` (3 or older) whose
    certificate application has not been announced yet."""
    pending = ("status = 1 AND NOT certified AND certification_due_announced_at IS NULL "
               "AND birth_date <= %(born_by)s")
    rows = await uow.fetchall(
        "UPDATE persons SET certification_due_announced_at = %(at)s WHERE person_id IN ("
        f"SELECT person_id FROM persons WHERE {pending} LIMIT %(limit)s FOR UPDATE SKIP LOCKED) "
        f"AND {pending} {_RETURNING}", {"born_by": born_by, "at": at, "limit": limit})
    return [Claimed(*r) for r in rows]
