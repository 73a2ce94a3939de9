"""The aid service's own Prometheus metrics (the runtime's are in runtime.metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from aid.domain.warnings import REQUIRED_ACTIONS

SLA_BREACHES = Counter(
    "cdsp_aid_sla_breaches_total",
    "Service-request deadlines breached, by deadline (arrival: 30 minutes, meeting: 24 hours); "
    "counted by the process that marked the breach (its scan, or a late arrival/resolution)",
    ["deadline"])
for _deadline in ("arrival", "meeting"):
    SLA_BREACHES.labels(deadline=_deadline)  # both series exist, at 0, from the start

CASE_ACTION_BREACHES = Counter(
    "cdsp_aid_case_action_breaches_total",
    "Required actions of aid cases not done by their due time, by action; counted by the "
    "process that marked the breach (its scan, or a late completion)",
    ["action"])
for _actions in REQUIRED_ACTIONS.values():
    for _action, _ in _actions:
        CASE_ACTION_BREACHES.labels(action=_action)  # every series exists, at 0, from the start

# Read from the database by every replica (service/gauges.py), so all replicas report the same
# values: dashboards and alerts take max() over replicas, never sum().
OPEN_CASES = Gauge("cdsp_aid_open_cases", "Open aid cases city-wide, by warning level", ["level"])
SLA_DEADLINES = Gauge(
    "cdsp_aid_sla_deadlines", "Deadlines of the service requests submitted in the last 30 days "
    "that are due (passed, or the step taken), city-wide, by deadline and outcome (on_time, late)",
    ["deadline", "outcome"])
