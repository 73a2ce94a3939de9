"""Channels behind one small interface: each sender takes an Outgoing message and either
returns (the far end accepted it) or raises TemporaryFailure (try again later) or
PermanentFailure (trying again cannot help)."""

from notification.adapters.senders.base import (
    Outgoing,
    PermanentFailure,
    Sender,
    TemporaryFailure,
)

__all__ = ["Outgoing", "PermanentFailure", "Sender", "TemporaryFailure"]
