"""Building and reading the event envelope that every topic carries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from google.protobuf import symbol_database
from google.protobuf.message import Message

from cdsp.events.v1.envelope_pb2 import Envelope


@dataclass(frozen=True)
class OutgoingEvent:
    """An event waiting in a unit of work for its transaction to commit."""

    topic: str
    key: str
    envelope: Envelope

    @property
    def event_id(self) -> str:
        return self.envelope.event_id


def build_envelope(payload: Message, *, aggregate_type: str, aggregate_id: str, version: int,
                   jurisdiction_path: str, producer: str, actor: str, request_id: str,
                   occurred_at: datetime | None = None, snapshot: bool = False) -> Envelope:
    env = Envelope(
        event_id=str(uuid.uuid4()),
        event_type=payload.DESCRIPTOR.full_name,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        aggregate_version=version,
        producer=producer,
        request_id=request_id,
        actor=actor,
        jurisdiction_path=jurisdiction_path,
        snapshot=snapshot,
    )
    env.occurred_at.FromDatetime(occurred_at or datetime.now(UTC))
    env.payload.Pack(payload)
    return env


def unpack_payload(env: Envelope) -> Message:
    """The envelope's payload as its own message type (raises KeyError for an unknown type)."""
    type_name = env.payload.TypeName()
    cls = symbol_database.Default().GetSymbol(type_name)
    message = cls()
    if not env.payload.Unpack(message):
        raise ValueError(f"payload is not a {type_name}")
    return message  # type: ignore[no-any-return]
