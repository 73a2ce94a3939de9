"""Reminders the registry announces on its own, each once: the monthly check of every active
record, and the certificate application of an uncertified child who has turned 3.

- Monthly check (plan: every record updated by the grid worker before the 5th). From the 1st of
  a local month, VerificationDue for each active person not verified since the 1st (registration
  counts as that month's check); from the 5th, VerificationOverdue for each one still not
  verified since the 1st. Run at start-up and hourly.
- Certificate: CertificationDue, with the third birthday, for each active uncertified person aged
  3 or more on the local date. Run at start-up and daily. Becoming certified ends it.

The scans run on every replica at once, in batches of SCAN_BATCH persons per transaction, each
batch claimed and marked in one statement (adapters/reminder_store.py) with its events recorded
in the same unit of work. Nothing here bumps a record's version: the events carry the version
the record is at. `now`/`today` can be given, so a scan can be run for a chosen instant, and
`scope` narrows a scan to some jurisdictions (the default is the whole city).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from google.protobuf.message import Message

from registry.adapters import reminder_store
from registry.adapters.reminder_store import Claimed
from registry.config import Registry
from registry.domain import events
from registry.domain.person import UNCERTIFIED_MAX_AGE
from registry.domain.resident_id import birthday, born_by
from registry.domain.verification import CheckMonth, check_month
from runtime.auth import SYSTEM, Caller
from runtime.db import UnitOfWork
from runtime.server import PeriodicJob

SCAN_BATCH = 1000
HOURLY, DAILY = 3600.0, 24 * 3600.0


def _record(uow: UnitOfWork, person: Claimed, payload: Message) -> None:
    uow.record(payload, aggregate_type="person", aggregate_id=person.person_id,
               version=person.version, jurisdiction_path=person.jurisdiction_path)


async def scan_verifications(reg: Registry, now: datetime | None = None,
                             scope: Caller = SYSTEM) -> dict[str, int]:
    """Announces this month's due checks, and from the 5th the overdue ones, that have not been
    announced yet; returns how many of each. A person found both due and overdue in one round
    (the scan did not run between the 1st and the 5th) gets both, in that order."""
    now = now or datetime.now(UTC)
    month = check_month(now, reg.tz)
    passes: list[tuple[str, Callable[[str, datetime | None, CheckMonth], Message]]] = [
        ("due", events.verification_due)]
    if now >= month.due_by:
        passes.append(("overdue", events.verification_overdue))
    announced = {"due": 0, "overdue": 0}
    for mark, event in passes:
        while True:
            async with reg.db.unit_of_work(scope) as uow:
                batch = await reminder_store.claim_for_month(uow, mark, month.first, SCAN_BATCH)
                for person in batch:
                    if month.is_due(person.last_verified_at):
                        _record(uow, person, event(person.person_id, person.last_verified_at,
                                                   month))
                        announced[mark] += 1
            if len(batch) < SCAN_BATCH:
                break
    return announced


async def scan_certification_due(reg: Registry, today: date | None = None,
                                 scope: Caller = SYSTEM) -> int:
    """Announces each active uncertified person aged 3 or more on `today` (local) not announced
    yet; returns how many."""
    today = today or reg.today()
    three_if_born_by = born_by(today, UNCERTIFIED_MAX_AGE)
    announced = 0
    while True:
        async with reg.db.unit_of_work(scope) as uow:
            batch = await reminder_store.claim_certification_due(
                uow, three_if_born_by, datetime.now(UTC), SCAN_BATCH)
            for person in batch:
                _record(uow, person, events.certification_due(
                    person.person_id, birthday(person.birth_date, UNCERTIFIED_MAX_AGE)))
        announced += len(batch)
        if len(batch) < SCAN_BATCH:
            return announced


def reminder_jobs(reg: Registry) -> list[PeriodicJob]:
    return [PeriodicJob("verification-reminders", HOURLY, lambda: scan_verifications(reg)),
            PeriodicJob("certification-due", DAILY, lambda: scan_certification_due(reg))]
