"""What a subscription may name: the public payload types of cdsp.partner.v1 and their fields,
which fields hold internal ids (replaced by the subscriber's pseudonyms), and redaction.

A subscription's `fields` are "Type.field" (short type name, e.g. "WarningRaised.level"); every
other field of a payload is cleared before it leaves. The id fields a subject is made of (the
household of a household's event, the person of a person's) are always kept: a subscriber that
could not tell whose event it is could not order them.
"""

from __future__ import annotations

from collections.abc import Callable

from google.protobuf.message import Message

from cdsp.partner.v1 import events_pb2 as pev

PACKAGE = "cdsp.partner.v1"
# Every payload type a subscriber may receive, by full name.
PAYLOADS: dict[str, type[Message]] = {
    cls.DESCRIPTOR.full_name: cls for cls in (
        pev.PersonEnrolled, pev.PersonLeft, pev.HouseholdIncomeAssessed, pev.WarningRaised,
        pev.WarningResolved, pev.ReliefDecided, pev.ServiceRequestResolved,
        pev.CourseCompleted, pev.PersonPlaced, pev.PlacementEnded)}
# Fields that carry internal ids: each is replaced by the subscriber's pseudonym of it.
ID_FIELDS = ("person", "household", "case", "persons")
# The field naming the subject of each type (kept whatever the allowlist says): the person of a
# person's event, else the household.
SUBJECT_FIELD = {name: ("person" if "person" in cls.DESCRIPTOR.fields_by_name else "household")
                 for name, cls in PAYLOADS.items()}


def short(full_name: str) -> str:
    return full_name.rsplit(".", 1)[-1]


def full(type_name: str) -> str:
    """A payload type's full name from either form ("WarningRaised" or the full name)."""
    return type_name if "." in type_name else f"{PACKAGE}.{type_name}"


def field_exists(spec: str) -> bool:
    """Whether "Type.field" names a field of a payload type."""
    type_name, sep, field = spec.rpartition(".")
    cls = PAYLOADS.get(full(type_name)) if sep else None
    return cls is not None and field in cls.DESCRIPTOR.fields_by_name


def allowed_fields(fields: list[str] | tuple[str, ...], full_name: str) -> set[str]:
    """The field names of `full_name` an allowlist keeps (with the subject field)."""
    keep = {SUBJECT_FIELD[full_name]}
    for spec in fields:
        type_name, _, field = spec.rpartition(".")
        if full(type_name) == full_name:
            keep.add(field)
    return keep


def redact(payload: Message, keep: set[str]) -> Message:
    """A copy of `payload` with every field outside `keep` cleared."""
    out = type(payload)()
    out.CopyFrom(payload)
    for field in out.DESCRIPTOR.fields:
        if field.name not in keep:
            out.ClearField(field.name)
    return out


def pseudonymise(payload: Message, alias: Callable[[str], str]) -> None:
    """Replaces every internal id field (in place) by `alias(id)`; empty ids stay empty."""
    for field in payload.DESCRIPTOR.fields:
        if field.name not in ID_FIELDS:
            continue
        value = getattr(payload, field.name)
        if field.is_repeated:
            replaced = [alias(v) if v else "" for v in value]
            del value[:]
            value.extend(replaced)
        elif value:
            setattr(payload, field.name, alias(value))
