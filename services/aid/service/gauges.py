"""City-wide figures of the aid service for the operators' dashboards (open cases by level,
30-minute and 24-hour compliance), refreshed from the database on a timer by every replica."""

from __future__ import annotations

from datetime import UTC, datetime

from aid.adapters import case_store, request_store
from aid.config import Aid
from aid.domain.requests import ARRIVAL, MEETING
from aid.domain.warnings import LEVEL_NAMES, NONE
from aid.metrics import OPEN_CASES, SLA_DEADLINES
from runtime.auth import SYSTEM
from runtime.server import PeriodicJob

from .requests import COMPLIANCE_PERIOD


async def refresh_gauges(aid: Aid) -> None:
    now = datetime.now(UTC)
    async with aid.db.unit_of_work(SYSTEM) as uow:
        by_level = await case_store.open_cases_by_level(uow)
        counts = await request_store.compliance(uow, ["/"], now - COMPLIANCE_PERIOD, now)
    for level, name in LEVEL_NAMES.items():
        if level != NONE:
            OPEN_CASES.labels(level=name).set(by_level.get(level, 0))
    for deadline, due, on_time in ((ARRIVAL, counts.requests_due, counts.arrived_on_time),
                                   (MEETING, counts.escalations_due, counts.meetings_on_time)):
        SLA_DEADLINES.labels(deadline=deadline, outcome="on_time").set(on_time)
        SLA_DEADLINES.labels(deadline=deadline, outcome="late").set(due - on_time)


def gauge_jobs(aid: Aid) -> list[PeriodicJob]:
    return [PeriodicJob("dashboard-gauges", aid.rules.scan_interval_s,
                        lambda: refresh_gauges(aid))]
