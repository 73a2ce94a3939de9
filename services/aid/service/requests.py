"""Use cases of the service loop: submit, dispatch, arrive, escalate, resolve; SLA scans."""

from __future__ import annotations

from aid.config import Aid
from runtime.server import PeriodicJob


def request_jobs(aid: Aid) -> list[PeriodicJob]:
    return []
