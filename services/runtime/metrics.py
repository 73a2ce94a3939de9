"""The Prometheus metrics every service exports (one registry per process, served over HTTP)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

GRPC_REQUESTS = Counter("cdsp_grpc_requests_total", "gRPC calls handled, by method and status code",
                        ["method", "code"])
GRPC_LATENCY = Histogram("cdsp_grpc_request_duration_seconds", "gRPC call latency by method",
                         ["method"], buckets=LATENCY_BUCKETS)
OUTBOX_BACKLOG = Gauge("cdsp_outbox_backlog_events", "Outbox events not yet published")
OUTBOX_OLDEST_AGE = Gauge("cdsp_outbox_oldest_event_age_seconds",
                          "Age of the oldest unpublished outbox event (0 when none)")
OUTBOX_PUBLISH_FAILURES = Counter("cdsp_outbox_publish_failures_total",
                                  "Relay rounds that failed to publish (broker down, ...)")
EVENTS_PUBLISHED = Counter("cdsp_events_published_total", "Events published to the broker",
                           ["topic", "event_type"])
EVENT_PUBLISH_DELAY = Histogram("cdsp_event_publish_delay_seconds",
                                "Time from an event's commit to the broker's acknowledgement",
                                buckets=LATENCY_BUCKETS)
EVENTS_CONSUMED = Counter("cdsp_events_consumed_total",
                          "Events consumed, by outcome (processed, duplicate, dead_lettered)",
                          ["topic", "event_type", "outcome"])
CONSUMER_LAG = Gauge("cdsp_consumer_lag_events", "Records behind the end of each partition",
                     ["group", "topic", "partition"])
DEAD_LETTERS = Gauge("cdsp_dead_letter_events", "Messages parked in the dead-letter table")
PENDING_EVENTS = Gauge("cdsp_pending_events",
                       "Events a consumer holds until what they name arrives (runtime.pending)",
                       ["group"])
PENDING_EXPIRED = Counter("cdsp_pending_events_expired_total",
                          "Pending events finished without what they waited for (the event "
                          "type is in the log line and in the PendingEventExpired event)",
                          ["group"])
OUTBOX_PARKED = Gauge("cdsp_outbox_parked_events",
                      "Outbox events the broker rejected for good, parked by the relay")
TOKEN_KEYS = Gauge("cdsp_token_keys",
                   "Token signing keys accepted (from the identity issuer's JWKS)")
TOKEN_REVOCATIONS_AGE = Gauge("cdsp_token_revocations_age_seconds",
                              "Seconds since the token revocation list was last read")
TOKEN_REFRESH_FAILURES = Counter("cdsp_token_refresh_failures_total",
                                 "Failed reads of the issuer's JWKS or revocation list (the "
                                 "ones held stay in force)", ["document"])
for _document in ("jwks", "revocations"):
    TOKEN_REFRESH_FAILURES.labels(_document)
INBOX_PURGED = Counter("cdsp_inbox_rows_purged_total",
                       "Inbox rows removed once past the retention (CDSP_INBOX_RETENTION_DAYS)")


class PoolCollector(Collector):
    """Reads the database pool's statistics at scrape time."""

    def __init__(self, stats: Callable[[], dict[str, int]]) -> None:
        self.stats = stats

    def collect(self) -> Iterator[GaugeMetricFamily]:
        stats = self.stats()
        size = stats.get("pool_size", 0)
        idle = stats.get("pool_available", 0)
        family = GaugeMetricFamily("cdsp_db_pool_connections", "Database pool connections",
                                   labels=["state"])
        family.add_metric(["in_use"], size - idle)
        family.add_metric(["idle"], idle)
        family.add_metric(["max"], stats.get("pool_max", 0))
        yield family
        yield GaugeMetricFamily("cdsp_db_pool_waiting_requests",
                                "Requests waiting for a database connection",
                                value=stats.get("requests_waiting", 0))


def watch_pool(stats: Callable[[], dict[str, int]]) -> None:
    REGISTRY.register(PoolCollector(stats))


def serve_metrics(addr: str) -> None:
    host, _, port = addr.rpartition(":")
    start_http_server(int(port), addr=host or "0.0.0.0")
