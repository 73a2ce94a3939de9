"""The notification service's own metrics (the runtime's cover calls, events and the outbox)."""

from prometheus_client import Counter, Gauge, Histogram

from notification.domain.rules import RECIPIENTS

NOTICES_PLANNED = Counter("cdsp_notification_notices_total",
                          "Notices stored, by template and recipient kind",
                          ["template", "recipient_kind"])
UNDELIVERABLE = Counter("cdsp_notification_undeliverable_total",
                        "Notices no channel could reach (recorded with the reason)",
                        ["recipient_kind"])
DELIVERIES = Counter("cdsp_notification_deliveries_total",
                     "Delivery attempts by channel and outcome "
                     "(sent, retry, failed, held)", ["channel", "outcome"])
DELIVERY_LATENCY = Histogram("cdsp_notification_delivery_seconds",
                             "From a notice being stored to its channel accepting it",
                             ["channel"],
                             buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
                                      300, 3600))
PENDING = Gauge("cdsp_notification_pending_deliveries",
                "Deliveries waiting to be sent (retries and held ones included), by channel",
                ["channel"])
STREAMS = Gauge("cdsp_notification_inbox_streams", "Apps connected to StreamInbox")

# The series an alert's increase() reads exist at 0 from the start: a series born at 1 shows no
# increase, and the first undeliverable notice or failed delivery of a process would go unseen.
CHANNEL_NAMES = ("inbox", "webhook", "email", "sms", "voice")
for _kind in RECIPIENTS:
    UNDELIVERABLE.labels(_kind)
for _channel in CHANNEL_NAMES:
    for _outcome in ("sent", "failed"):
        DELIVERIES.labels(_channel, _outcome)
