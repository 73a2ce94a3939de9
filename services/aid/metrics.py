"""The aid service's own Prometheus metrics (the runtime's are in runtime.metrics)."""

from __future__ import annotations

from prometheus_client import Counter

SLA_BREACHES = Counter(
    "cdsp_aid_sla_breaches_total",
    "Service-request deadlines breached, by deadline (arrival: 30 minutes, meeting: 24 hours); "
    "counted by the process that marked the breach (its scan, or a late arrival/resolution)",
    ["deadline"])
for _deadline in ("arrival", "meeting"):
    SLA_BREACHES.labels(deadline=_deadline)  # both series exist, at 0, from the start
