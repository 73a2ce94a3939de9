"""Use cases for emergency kits and home sickbed visits."""

from __future__ import annotations

from aid.config import Aid
from runtime.server import PeriodicJob


def kit_jobs(aid: Aid) -> list[PeriodicJob]:
    return []
