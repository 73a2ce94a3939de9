"""The registry's own settings (beyond the runtime's).

    CDSP_PRIORITY_GROUPS   comma-separated priority-group codes that keep separate need ledgers
                           (default: the six the plans name)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from registry.domain.person import DEFAULT_PRIORITY_GROUPS
from runtime.db import Database


@dataclass(frozen=True)
class Registry:
    """What every registry use case needs: the database and the rules' settings."""

    db: Database
    priority_groups: tuple[str, ...]
    tz: ZoneInfo

    def today(self) -> date:
        return datetime.now(self.tz).date()


def priority_groups_from_env() -> tuple[str, ...]:
    raw = os.environ.get("CDSP_PRIORITY_GROUPS", "")
    groups = tuple(g.strip() for g in raw.split(",") if g.strip())
    return groups or DEFAULT_PRIORITY_GROUPS
