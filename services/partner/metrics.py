"""The gateway's metrics, per subscriber (its code)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

DELIVERED = Counter("cdsp_partner_delivered_total", "Events delivered (acknowledged)",
                    ["subscriber", "delivery"])
FAILED = Counter("cdsp_partner_failed_total",
                 "Delivery attempts that failed (each retry counts; dead-lettered too)",
                 ["subscriber", "delivery", "outcome"])
UNDELIVERED = Gauge("cdsp_partner_undelivered", "Events waiting (pending or dead-lettered)",
                    ["subscriber"])
OLDEST = Gauge("cdsp_partner_oldest_undelivered_seconds",
               "Age of the oldest event waiting for the subscriber (0 when none)", ["subscriber"])
