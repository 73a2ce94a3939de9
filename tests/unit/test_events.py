"""The event envelope every topic carries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from cdsp.events.v1 import registry_pb2 as ev
from cdsp.events.v1.envelope_pb2 import Envelope
from runtime.events import OutgoingEvent, build_envelope, unpack_payload


def envelope(payload: ev.PersonArchived | ev.PersonNeedsChanged,
             occurred_at: datetime | None = None) -> Envelope:
    return build_envelope(payload, aggregate_type="person", aggregate_id="p-1", version=3,
                          jurisdiction_path="/3505/350502/", producer="registry",
                          actor="w-001", request_id="req-1", occurred_at=occurred_at)


def test_envelope_describes_its_payload() -> None:
    payload = ev.PersonNeedsChanged(person_id="p-1", added=["transport"], removed=[],
                                    need_codes=["transport"])
    before = datetime.now(UTC)
    env = envelope(payload)
    after = datetime.now(UTC)
    assert env.event_type == "cdsp.events.v1.PersonNeedsChanged"
    assert uuid.UUID(env.event_id).version == 4
    assert (env.aggregate_type, env.aggregate_id, env.aggregate_version) == ("person", "p-1", 3)
    assert (env.producer, env.actor, env.request_id) == ("registry", "w-001", "req-1")
    assert env.jurisdiction_path == "/3505/350502/"
    occurred = env.occurred_at.ToDatetime(tzinfo=UTC)
    assert before - timedelta(microseconds=1) <= occurred <= after + timedelta(microseconds=1)


def test_each_envelope_gets_its_own_event_id() -> None:
    payload = ev.PersonArchived(person_id="p-1", reason=ev.ARCHIVE_REASON_MOVED_OUT)
    assert envelope(payload).event_id != envelope(payload).event_id


def test_occurred_at_is_stored_as_the_same_instant_in_utc() -> None:
    shanghai_time = datetime(2024, 3, 5, 0, 30, tzinfo=timezone(timedelta(hours=8)))
    env = envelope(ev.PersonArchived(person_id="p-1"), occurred_at=shanghai_time)
    assert env.occurred_at.ToDatetime(tzinfo=UTC) == datetime(2024, 3, 4, 16, 30, tzinfo=UTC)


def test_payload_round_trip_through_bytes() -> None:
    payload = ev.PersonArchived(person_id="p-1", reason=ev.ARCHIVE_REASON_DECEASED)
    wire = envelope(payload).SerializeToString()
    received = Envelope.FromString(wire)
    unpacked = unpack_payload(received)
    assert isinstance(unpacked, ev.PersonArchived)
    assert unpacked == payload


def test_unknown_payload_type_is_a_key_error() -> None:
    env = Envelope()
    env.payload.type_url = "type.googleapis.com/cdsp.events.v1.NoSuchEvent"
    with pytest.raises(KeyError):
        unpack_payload(env)


def test_outgoing_event_exposes_the_event_id() -> None:
    env = envelope(ev.PersonArchived(person_id="p-1"))
    assert OutgoingEvent(topic="cdsp.registry.v1", key="p-1", envelope=env).event_id == \
        env.event_id
