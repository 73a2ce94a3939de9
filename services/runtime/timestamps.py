"""protobuf Timestamps and aware datetimes (UTC), both ways."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp


def to_timestamp(value: datetime | None) -> Timestamp | None:
    """Timestamp.FromDatetime is pure Python and shows in list profiles; this is not."""
    if value is None:
        return None
    return Timestamp(seconds=int(value.timestamp()), nanos=value.microsecond * 1000)


def from_timestamp(ts: Timestamp, present: bool) -> datetime | None:
    """The time a request field carries, or None when the caller left it unset."""
    return ts.ToDatetime(tzinfo=UTC) if present else None
