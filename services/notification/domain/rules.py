"""Which event produces which notice, for whom and how urgently: configuration, not code.

The rules live in ``notification/rules.toml`` (see its header for the format) and are checked
when they are loaded; any problem is a RulesError naming the rule and what is wrong:

- the event type must be a message of ``cdsp.events.v1`` known to the protobuf symbol database;
- conditions (``when``) name fields of that message, with a value of the field's type. Three
  operators, nothing evaluated: ``field = v`` (equals), ``field_at_least = n``, ``field_in = [..]``;
  an enum field takes its values' names, turned into numbers here;
- recipients are among RECIPIENTS, urgency among URGENCIES, the template exists;
- ``fields`` maps template fields to payload fields (which must exist, with a conversion that
  fits the field); ``context`` lists the template fields the service supplies itself; together
  they cover exactly the template's fields, so a rule can never reach a render with a hole in it.

Payload values become text by ``Rule.feed``: strings as they are, numbers in decimal, booleans
and enum values as lower-case tokens ("true", "red") for the service to put into the reader's
language, money in fen as yuan ("as = yuan": "1200.50"), timestamps as local time (UTC+8, which
has no daylight saving: "2024-05-01 14:30").
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

from google.protobuf import symbol_database
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

# Imported for their side effect: they register the event messages in the symbol database.
import cdsp.events.v1.aid_pb2
import cdsp.events.v1.audit_pb2
import cdsp.events.v1.employment_pb2
import cdsp.events.v1.registry_pb2
import cdsp.events.v1.volunteer_pb2  # noqa: F401
from notification.domain.templates import TemplateBook, default_book
from runtime.errors import ServiceError

EVENTS_PACKAGE = "cdsp.events.v1."
RECIPIENTS = ("resident", "guardian", "liaison", "grid_team")
URGENCIES = ("urgent", "normal")
CONVERSIONS = ("text", "yuan", "time")
RULE_KEYS = frozenset({"name", "event", "when", "recipients", "template", "urgency", "fields",
                       "context"})
LOCAL_TIME = timezone(timedelta(hours=8), "UTC+8")

_FD = FieldDescriptor
INTEGER_TYPES = frozenset({_FD.TYPE_INT32, _FD.TYPE_INT64, _FD.TYPE_UINT32, _FD.TYPE_UINT64,
                           _FD.TYPE_SINT32, _FD.TYPE_SINT64, _FD.TYPE_FIXED32, _FD.TYPE_FIXED64,
                           _FD.TYPE_SFIXED32, _FD.TYPE_SFIXED64})
FLOAT_TYPES = frozenset({_FD.TYPE_FLOAT, _FD.TYPE_DOUBLE})

Operator = Literal["equals", "at_least", "in"]
Scalar = bool | int | float | str
Fail = Callable[[str], "RulesError"]


class RulesError(ServiceError):
    """A rules file that does not hold together, or a payload that is not the event named."""


@dataclass(frozen=True)
class Condition:
    field: str
    op: Operator
    value: Scalar | tuple[Scalar, ...]

    def holds(self, payload: Message) -> bool:
        actual = getattr(payload, self.field)
        if self.op == "equals":
            return bool(actual == self.value)
        if self.op == "at_least":
            return bool(actual >= self.value)
        assert isinstance(self.value, tuple)
        return actual in self.value


@dataclass(frozen=True)
class Source:
    """Where a template field comes from in the payload, and how it becomes text."""

    field: str
    conversion: str = "text"


@dataclass(frozen=True)
class Rule:
    name: str
    event_type: str
    conditions: tuple[Condition, ...]
    recipients: tuple[str, ...]
    template: str
    urgency: str
    fields: Mapping[str, Source]       # template field -> payload field
    context: frozenset[str]            # template fields the service supplies

    @property
    def urgent(self) -> bool:
        return self.urgency == "urgent"

    def applies(self, payload: Message) -> bool:
        return all(c.holds(payload) for c in self.conditions)

    def feed(self, payload: Message) -> dict[str, str]:
        """The template fields this rule takes from the payload, as text."""
        descriptor = cast(Descriptor, payload.DESCRIPTOR)
        return {name: _text(payload, descriptor.fields_by_name[src.field], src.conversion)
                for name, src in self.fields.items()}


class RuleBook:
    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)

    @classmethod
    def load(cls, path: Path | None = None, templates: TemplateBook | None = None) -> RuleBook:
        if path is None:
            text = resources.files("notification").joinpath("rules.toml").read_text("utf-8")
        else:
            text = path.read_text("utf-8")
        return cls.from_text(text, templates)

    @classmethod
    def from_text(cls, text: str, templates: TemplateBook | None = None) -> RuleBook:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise RulesError(f"rules file is not valid TOML: {e}") from None
        return cls.from_dict(data, templates)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], templates: TemplateBook | None = None) -> RuleBook:
        book = templates if templates is not None else default_book()
        unknown = sorted(set(data) - {"rule"})
        if unknown:
            raise RulesError(f"rules file: unknown top-level key(s) {', '.join(unknown)}; "
                             "write each rule as [[rule]]")
        raw = data.get("rule")
        if not isinstance(raw, list) or not raw:
            raise RulesError("rules file defines no [[rule]]")
        rules: list[Rule] = []
        seen: set[str] = set()
        for index, spec in enumerate(raw, start=1):
            rule = _rule(index, spec, book)
            if rule.name in seen:
                raise RulesError(f"rule {rule.name!r}: the name is used twice")
            seen.add(rule.name)
            rules.append(rule)
        return cls(rules)

    def match(self, event_type: str, payload: Message) -> list[Rule]:
        if payload.DESCRIPTOR.full_name != event_type:
            raise RulesError(f"payload is a {payload.DESCRIPTOR.full_name}, "
                             f"not the event type {event_type}")
        return [r for r in self.rules if r.event_type == event_type and r.applies(payload)]


# --- loading one rule -----------------------------------------------------------------------------
def _rule(index: int, spec: Any, templates: TemplateBook) -> Rule:
    if not isinstance(spec, dict):
        raise RulesError(f"rule #{index}: must be a table")
    name = spec.get("name")
    if not isinstance(name, str) or not name.strip():
        raise RulesError(f"rule #{index}: `name` must be non-empty text")

    def fail(problem: str) -> RulesError:
        return RulesError(f"rule {name!r}: {problem}")

    unknown = sorted(set(spec) - RULE_KEYS)
    if unknown:
        raise fail(f"unknown key(s) {', '.join(unknown)}")

    event = spec.get("event")
    if not isinstance(event, str):
        raise fail("`event` must be the full proto name of an event, e.g. "
                   "'cdsp.events.v1.WarningRaised'")
    descriptor = _event_descriptor(event)
    if descriptor is None:
        raise fail(f"unknown event type {event!r}")

    when = spec.get("when", {})
    if not isinstance(when, dict):
        raise fail("`when` must be a table of conditions")
    conditions = tuple(_condition(descriptor, key, value, fail) for key, value in when.items())

    recipients = spec.get("recipients")
    if not isinstance(recipients, list) or not recipients:
        raise fail("`recipients` must be a non-empty list")
    for recipient in recipients:
        if recipient not in RECIPIENTS:
            raise fail(f"unknown recipient {recipient!r} (known: {', '.join(RECIPIENTS)})")
    if len(set(recipients)) != len(recipients):
        raise fail("a recipient is listed twice")

    template_name = spec.get("template")
    if not isinstance(template_name, str) or template_name not in templates:
        raise fail(f"unknown template {template_name!r}")
    template = templates.get(template_name)

    urgency = spec.get("urgency")
    if urgency not in URGENCIES:
        raise fail(f"urgency must be one of {', '.join(URGENCIES)}, got {urgency!r}")

    raw_fields = spec.get("fields", {})
    if not isinstance(raw_fields, dict):
        raise fail("`fields` must be a table of template field = payload field")
    sources: dict[str, Source] = {}
    for target, raw in raw_fields.items():
        if target not in template.fields:
            raise fail(f"template {template_name!r} has no field {target!r}")
        sources[target] = _source(descriptor, target, raw, fail)

    context = spec.get("context", [])
    if not isinstance(context, list) or not all(isinstance(c, str) for c in context):
        raise fail("`context` must be a list of template field names")
    for item in context:
        if item not in template.fields:
            raise fail(f"context field {item!r} is not a field of template {template_name!r}")
        if item in sources:
            raise fail(f"field {item!r} is both taken from the payload and from context")
    missing = sorted(template.fields - sources.keys() - set(context))
    if missing:
        raise fail(f"template {template_name!r} needs field(s) {', '.join(missing)} that "
                   f"neither the {descriptor.name} payload (`fields`) nor `context` supplies")

    return Rule(name, event, conditions, tuple(recipients), template_name, str(urgency),
                sources, frozenset(context))


def _event_descriptor(event: str) -> Descriptor | None:
    if not event.startswith(EVENTS_PACKAGE):
        return None
    try:
        message = symbol_database.Default().GetSymbol(event)
    except KeyError:
        return None
    return cast(Descriptor, message.DESCRIPTOR)


def _payload_field(descriptor: Descriptor, name: str, fail: Fail) -> FieldDescriptor:
    field = descriptor.fields_by_name.get(name)
    if field is None:
        raise fail(f"{descriptor.full_name} has no field {name!r}")
    return field


def _condition(descriptor: Descriptor, key: str, value: Any, fail: Fail) -> Condition:
    op: Operator = "equals"
    name = key
    if key not in descriptor.fields_by_name:
        for suffix, candidate in (("_at_least", "at_least"), ("_in", "in")):
            if key.endswith(suffix):
                name, op = key.removesuffix(suffix), candidate  # type: ignore[assignment]
                break
    field = _payload_field(descriptor, name, fail)
    where = f"condition {key!r}"
    if field.is_repeated or field.type == _FD.TYPE_MESSAGE:
        raise fail(f"{where}: only single scalar fields can be tested")
    if op == "at_least" and not (field.type in INTEGER_TYPES or field.type in FLOAT_TYPES
                                 or field.type == _FD.TYPE_ENUM):
        raise fail(f"{where}: at_least needs a number or an enum field")
    if op == "in":
        if not isinstance(value, list) or not value:
            raise fail(f"{where}: needs a non-empty list")
        return Condition(name, op, tuple(_scalar(field, v, where, fail) for v in value))
    return Condition(name, op, _scalar(field, value, where, fail))


def _scalar(field: FieldDescriptor, value: Any, where: str, fail: Fail) -> Scalar:
    kind = field.type
    if kind == _FD.TYPE_BOOL:
        if isinstance(value, bool):
            return value
        raise fail(f"{where}: {field.name} is a bool, got {value!r}")
    if kind == _FD.TYPE_STRING:
        if isinstance(value, str):
            return value
        raise fail(f"{where}: {field.name} is text, got {value!r}")
    if kind == _FD.TYPE_ENUM:
        enum = field.enum_type
        assert enum is not None
        number = _enum_number(enum, value)
        if number is None:
            raise fail(f"{where}: {value!r} is not a value of {enum.full_name}")
        return number
    if kind in INTEGER_TYPES:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise fail(f"{where}: {field.name} is an integer, got {value!r}")
    if kind in FLOAT_TYPES:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        raise fail(f"{where}: {field.name} is a number, got {value!r}")
    raise fail(f"{where}: {field.name} cannot be tested")


def _enum_number(enum: EnumDescriptor, value: Any) -> int | None:
    if isinstance(value, str) and value in enum.values_by_name:
        return enum.values_by_name[value].number
    if isinstance(value, int) and not isinstance(value, bool) and value in enum.values_by_number:
        return value
    return None


def _source(descriptor: Descriptor, target: str, raw: Any, fail: Fail) -> Source:
    if isinstance(raw, str):
        name, conversion = raw, "text"
    elif (isinstance(raw, dict) and set(raw) <= {"field", "as"}
          and isinstance(raw.get("field"), str)):
        name, conversion = raw["field"], raw.get("as", "text")
    else:
        raise fail(f"field {target!r}: give a payload field name or {{ field = ..., as = ... }}")
    if conversion not in CONVERSIONS:
        raise fail(f"field {target!r}: unknown conversion {conversion!r} "
                   f"(known: {', '.join(CONVERSIONS)})")
    field = _payload_field(descriptor, name, fail)
    is_timestamp = (field.type == _FD.TYPE_MESSAGE and field.message_type is not None
                    and field.message_type.full_name == Timestamp.DESCRIPTOR.full_name)
    if conversion == "time" and not (is_timestamp and not field.is_repeated):
        raise fail(f"field {target!r}: `as = time` needs a Timestamp field, {name!r} is not one")
    if conversion == "yuan" and (field.type not in INTEGER_TYPES or field.is_repeated):
        raise fail(f"field {target!r}: `as = yuan` needs an integer amount in fen, "
                   f"{name!r} is not one")
    if conversion == "text" and field.type == _FD.TYPE_MESSAGE:
        raise fail(f"field {target!r}: {name!r} is a message; "
                   + ("use `as = time`" if is_timestamp else "it cannot be shown as text"))
    return Source(name, str(conversion))


# --- payload values as text -----------------------------------------------------------------------
def _text(payload: Message, field: FieldDescriptor, conversion: str) -> str:
    value = getattr(payload, field.name)
    if conversion == "time":
        assert isinstance(value, Timestamp)
        return local_time(value)
    if conversion == "yuan":
        return yuan(int(value))
    if field.is_repeated:
        return ", ".join(_scalar_text(field, v) for v in value)
    return _scalar_text(field, value)


def _scalar_text(field: FieldDescriptor, value: Any) -> str:
    if field.type == _FD.TYPE_BOOL:
        return "true" if value else "false"
    if field.type == _FD.TYPE_ENUM and field.enum_type is not None:
        return enum_token(field.enum_type, int(value))
    return str(value)


def enum_token(enum: EnumDescriptor, number: int) -> str:
    """WARNING_LEVEL_RED -> "red": the value's name without the enum's shared prefix."""
    names = list(enum.values_by_name)
    prefix = ""
    if len(names) > 1:
        words = [n.split("_") for n in names]
        shared = 0
        while all(len(w) > shared + 1 and w[shared] == words[0][shared] for w in words):
            shared += 1
        prefix = "".join(w + "_" for w in words[0][:shared])
    value = enum.values_by_number.get(number)
    if value is None:
        return str(number)
    return value.name.removeprefix(prefix).lower()


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def local_time(ts: Timestamp) -> str:
    moment = datetime.fromtimestamp(ts.seconds, UTC).astimezone(LOCAL_TIME)
    return moment.strftime("%Y-%m-%d %H:%M")


@cache
def default_rules() -> RuleBook:
    """The packaged rules, loaded (and validated against the packaged templates) once."""
    return RuleBook.load()


def match(event_type: str, payload: Message) -> list[Rule]:
    return default_rules().match(event_type, payload)

