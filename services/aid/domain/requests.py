"""The service loop of the 30-minute response: an urgent request is submitted (online or not),
a grid team is dispatched, the team arrives on site, and the request is resolved there with its
result fed back; what cannot be solved on site is escalated to the association meeting, which
resolves it.

    SUBMITTED ──dispatch──▶ DISPATCHED ──arrive──▶ ON_SITE ──resolve──▶ RESOLVED
                                                      │                    ▲
                                                      └─escalate─▶ ESCALATED ─resolve─┘

Escalation is only allowed from ON_SITE: the plan escalates "what cannot be solved on site", so a
request is escalated by the team that has been there, and a request nobody has visited yet cannot
skip the on-site step (nor, by being escalated, take its 30-minute arrival deadline off the
scan). Every other move — dispatching twice, arriving twice, resolving a resolved request, ... —
is refused with FAILED_PRECONDITION naming the request's current status.

Two deadlines: arrival within `rules.arrival_sla` (30 minutes) of submission, and the association
meeting within `rules.meeting_sla` (24 hours) of escalation. A deadline passed without the step is
a breach: the periodic scan marks it, or — when the step comes late before the scan saw it — the
late step itself marks it; either way a deadline is marked breached once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aid.config import AidRules
from runtime.errors import FailedPrecondition, FieldViolation, InvalidArgument, Violations

SUBMITTED, DISPATCHED, ON_SITE, ESCALATED, RESOLVED = 1, 2, 3, 4, 5
STATUS_NAMES = {SUBMITTED: "submitted", DISPATCHED: "dispatched", ON_SITE: "on site",
                ESCALATED: "escalated", RESOLVED: "resolved"}

# Each step and the statuses it may start from.
DISPATCH, ARRIVE, ESCALATE, RESOLVE = "dispatch", "record the arrival of", "escalate", "resolve"
ALLOWED_FROM: dict[str, frozenset[int]] = {
    DISPATCH: frozenset({SUBMITTED}),
    ARRIVE: frozenset({DISPATCHED}),
    ESCALATE: frozenset({ON_SITE}),
    RESOLVE: frozenset({ON_SITE, ESCALATED}),
}

ARRIVAL, MEETING = "arrival", "meeting"  # the deadlines, as SlaBreached.deadline names them

MAX_DESCRIPTION, MAX_TEAM, MAX_REASON, MAX_RESULT = 1000, 100, 1000, 2000


@dataclass
class ServiceRequest:
    request_id: str
    person_id: str
    jurisdiction_path: str
    description: str
    status: int
    submitted_online: bool
    submitted_at: datetime
    arrival_due_at: datetime
    team: str = ""
    dispatched_at: datetime | None = None
    arrived_at: datetime | None = None
    escalated_at: datetime | None = None
    escalation_reason: str = ""
    meeting_due_at: datetime | None = None
    resolved_at: datetime | None = None
    result: str = ""
    arrival_breached: bool = False
    meeting_breached: bool = False
    version: int = 1

    @property
    def arrived_on_time(self) -> bool:
        return self.arrived_at is not None and self.arrived_at <= self.arrival_due_at


def status_name(status: int) -> str:
    return STATUS_NAMES.get(status, f"status {status}")


def require_step(request: ServiceRequest, step: str) -> None:
    """FAILED_PRECONDITION unless `step` may start from the request's current status."""
    if request.status not in ALLOWED_FROM[step]:
        allowed = " or ".join(status_name(s) for s in sorted(ALLOWED_FROM[step]))
        raise FailedPrecondition(f"cannot {step} a request that is {status_name(request.status)}"
                                 f" (only a request that is {allowed})")


def _text(v: Violations, value: str, field: str, limit: int) -> str:
    text = value.strip()
    v.check(0 < len(text) <= limit, field, f"required, at most {limit} characters")
    return text


def validate_description(description: str) -> str:
    v = Violations()
    text = _text(v, description, "description", MAX_DESCRIPTION)
    v.raise_if_any()
    return text


def validate_team(team: str) -> str:
    v = Violations()
    text = _text(v, team, "team", MAX_TEAM)
    v.raise_if_any()
    return text


def validate_reason(reason: str) -> str:
    v = Violations()
    text = _text(v, reason, "reason", MAX_REASON)
    v.raise_if_any()
    return text


def validate_result(result: str) -> str:
    v = Violations()
    text = _text(v, result, "result", MAX_RESULT)
    v.raise_if_any()
    return text


def new_request(request_id: str, person_id: str, jurisdiction_path: str, description: str,
                submitted_online: bool, now: datetime, rules: AidRules) -> ServiceRequest:
    return ServiceRequest(request_id, person_id, jurisdiction_path,
                          validate_description(description), SUBMITTED, submitted_online,
                          submitted_at=now, arrival_due_at=now + rules.arrival_sla)


def dispatch(request: ServiceRequest, team: str, now: datetime) -> None:
    team = validate_team(team)
    require_step(request, DISPATCH)
    request.status, request.team, request.dispatched_at = DISPATCHED, team, now


def arrive(request: ServiceRequest, at: datetime) -> bool:
    """Records the arrival, late or not; returns True when this newly breaches the arrival
    deadline (late, and the scan had not marked it yet)."""
    require_step(request, ARRIVE)
    if at < (request.dispatched_at or request.submitted_at):  # dispatched: after submission
        raise InvalidArgument([FieldViolation("arrived_at",
                                              "cannot be before the team was dispatched")])
    request.status, request.arrived_at = ON_SITE, at
    if request.arrived_on_time or request.arrival_breached:
        return False
    request.arrival_breached = True
    return True


def escalate(request: ServiceRequest, reason: str, now: datetime, rules: AidRules) -> None:
    reason = validate_reason(reason)
    require_step(request, ESCALATE)
    request.status, request.escalated_at = ESCALATED, now
    request.escalation_reason, request.meeting_due_at = reason, now + rules.meeting_sla


def resolve(request: ServiceRequest, result: str, now: datetime) -> bool:
    """Resolves on site or at the meeting; returns True when this newly breaches the meeting
    deadline (an escalated request resolved late that the scan had not marked yet)."""
    result = validate_result(result)
    require_step(request, RESOLVE)
    request.status, request.result, request.resolved_at = RESOLVED, result, now
    late = request.meeting_due_at is not None and now > request.meeting_due_at
    if not late or request.meeting_breached:
        return False
    request.meeting_breached = True
    return True


def ratio(part: int, whole: int) -> float:
    """A compliance ratio: 1.0 when nothing was due."""
    return 1.0 if whole == 0 else part / whole
