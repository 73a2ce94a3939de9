"""SQL for assessments and plans (a plan's every version is kept in plan_history)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from runtime.db import UnitOfWork

PLAN_COLUMNS = ("plan_id::text, person_id::text, track, reasons, overridden, recommended_track, "
                "assessment_id::text, version, made_at, jurisdiction_path")


@dataclass(frozen=True)
class AssessmentRow:
    assessment_id: str
    person_id: str
    scores: dict[str, int]
    total_score: int
    assessed_at: datetime


@dataclass(frozen=True)
class PlanRow:
    plan_id: str
    person_id: str
    track: int
    reasons: list[str]
    overridden: bool
    recommended_track: int
    assessment_id: str
    version: int
    made_at: datetime
    jurisdiction_path: str


async def add_assessment(uow: UnitOfWork, person_id: str, path: str, scores: dict[str, int],
                         total: int, note: str) -> AssessmentRow:
    row = await uow.fetchone(
        "INSERT INTO assessments (assessment_id, person_id, jurisdiction_path, scores, "
        "total_score, note, assessed_by) VALUES (%s, %s, %s, %s, %s, %s, %s) "
        "RETURNING assessment_id::text, person_id::text, scores, total_score, assessed_at",
        [str(uuid.uuid4()), person_id, path, json.dumps(scores), total, note,
         uow.caller.subject])
    assert row is not None
    return AssessmentRow(*row)


async def get_plan(uow: UnitOfWork, person_id: str, lock: bool = False) -> PlanRow | None:
    row = await uow.fetchone(f"SELECT {PLAN_COLUMNS} FROM plans WHERE person_id = %s"
                             f"{' FOR UPDATE' if lock else ''}", [person_id])
    return PlanRow(*row) if row else None


async def save_plan(uow: UnitOfWork, person_id: str, path: str, assessment_id: str,
                    recommended: int, track: int, reasons: list[str], overridden: bool
                    ) -> PlanRow:
    """Makes the person's plan (or its next version) and keeps the version in the history."""
    row = await uow.fetchone(
        "INSERT INTO plans AS p (person_id, plan_id, jurisdiction_path, assessment_id, "
        "recommended_track, track, reasons, overridden, made_by) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (person_id) DO UPDATE SET "
        "jurisdiction_path = EXCLUDED.jurisdiction_path, assessment_id = EXCLUDED.assessment_id,"
        " recommended_track = EXCLUDED.recommended_track, track = EXCLUDED.track, "
        "reasons = EXCLUDED.reasons, overridden = EXCLUDED.overridden, "
        "made_by = EXCLUDED.made_by, made_at = now(), version = p.version + 1 "
        f"RETURNING {PLAN_COLUMNS}",
        [person_id, str(uuid.uuid4()), path, assessment_id, recommended, track, reasons,
         overridden, uow.caller.subject])
    assert row is not None
    plan = PlanRow(*row)
    await uow.execute(
        "INSERT INTO plan_history (plan_id, version, person_id, jurisdiction_path, track, "
        "reasons, overridden, made_by, made_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [plan.plan_id, plan.version, person_id, path, track, reasons, overridden,
         uow.caller.subject, plan.made_at])
    return plan
