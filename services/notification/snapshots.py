"""The notification service's aggregates as snapshot events (runtime.snapshots; `python -m
runtime.snapshot_cli notification`): every notice with its deliveries (NoticeState), at the
version its live events carry (NoticeSent, NoticeDelivered, NoticeFailed: the notice's version
column; 1 for a notice that has announced nothing or only that it is undeliverable), filed under
the notice's path.

The title and body (they name the person), the reasons and the deliveries' errors never leave,
nor the easy-read and flashing-alert choices, which would tell the recipient's disability.

Pages by notice_id through its index (ORDER BY names the table's column, not the text output
column); the deliveries are read for the page's notices only, through deliveries_notice."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cdsp.events.v1 import notification_pb2 as nev
from runtime.snapshots import AFTER_UUID, Snapshot, SnapshotSource
from runtime.timestamps import to_timestamp


def _notice_state(row: Sequence[Any]) -> Snapshot:
    (notice_id, source_event_id, source_event_type, rule, template, kind, recipient_id, path,
     urgent, created_at, undeliverable, version, channels, webhooks, statuses, attempts, sent,
     delivered) = row
    deliveries = zip(channels or [], webhooks or [], statuses or [], attempts or [], sent or [],
                     delivered or [], strict=True)
    state = nev.NoticeState(
        notice_id=notice_id, source_event_id=source_event_id,
        source_event_type=source_event_type, rule=rule, template=template, recipient_kind=kind,
        recipient_id=recipient_id, urgent=urgent, created_at=to_timestamp(created_at),
        undeliverable=undeliverable,
        deliveries=[nev.DeliveryState(channel=c, webhook_id=w or "", status=s, attempts=a,
                                      sent_at=to_timestamp(t), delivered_at=to_timestamp(d))
                    for c, w, s, a, t, d in deliveries])
    return Snapshot(state, notice_id, version, path)


SOURCES = [
    SnapshotSource("notice",
                   "SELECT n.notice_id::text, n.source_event_id::text, n.source_event_type, "
                   "n.rule, n.template, n.recipient_kind, n.recipient_id, n.jurisdiction_path, "
                   "n.urgent, n.created_at, n.undeliverable_reason <> '', n.version, "
                   "d.channels, d.webhooks, d.statuses, d.attempts, d.sent, d.delivered "
                   "FROM (SELECT * FROM notices "
                   f" WHERE notice_id > {AFTER_UUID} ORDER BY notice_id LIMIT %(limit)s) n "
                   "LEFT JOIN LATERAL (SELECT array_agg(channel ORDER BY channel, delivery_id) "
                   "  AS channels, "
                   "  array_agg(webhook_id::text ORDER BY channel, delivery_id) AS webhooks, "
                   "  array_agg(status ORDER BY channel, delivery_id) AS statuses, "
                   "  array_agg(attempts ORDER BY channel, delivery_id) AS attempts, "
                   "  array_agg(sent_at ORDER BY channel, delivery_id) AS sent, "
                   "  array_agg(delivered_at ORDER BY channel, delivery_id) AS delivered "
                   "  FROM deliveries WHERE notice_id = n.notice_id) d ON true "
                   "ORDER BY n.notice_id",
                   _notice_state),
]
