"""The event catalogue: every topic, key, event type and payload schema of the platform's Kafka
events, generated from protos/cdsp/events/v1 and deploy/kafka/topics.yaml.

    event_catalogue.py generate [--out DIR]
        writes docs/events/asyncapi.yaml (AsyncAPI 3.0.0), the same document as
        docs/events/asyncapi.json, and docs/events/README.md (the readable page); `make events`
    event_catalogue.py check [--out DIR]
        exits 1 naming every file that differs from a fresh generation (and the command that
        regenerates them), 0 when none does, 2 when the catalogue cannot be generated;
        tests/unit/test_event_catalogue.py makes the same comparison in `make test`

Where each part comes from:
  - the payload schemas: the protobuf descriptors (protoc with --include_source_info), written as
    JSON Schema: scalars with their formats, enums by their names, repeated -> array, maps ->
    object, nested messages as components/schemas, google.protobuf.Timestamp -> date-time text;
  - descriptions: the comments in the .proto files (a message's, a field's, an enum value's);
  - which event types exist: every top-level message of protos/cdsp/events/v1/*.proto except the
    Envelope and the messages other events embed (PersonSnapshot, CaseActionState, ...);
  - the topic of an event type: its file's, cdsp.<file>.v1 (PersonContact: the registry's
    restricted cdsp.registry.contacts.v1; runtime.proto: every service's topic);
  - the key, aggregate type and whether it is (also) a snapshot: EVENTS below, which the code
    decides (each `uow.record(..., aggregate_type=..., aggregate_id=...)` and each service's
    snapshots.py); generating fails when an event type has no entry there, or an entry names
    an event type the protos do not have;
  - partitions, replication and retention: deploy/kafka/topics.yaml (and its comments);
  - the words of the guarantees: the console's catalogue (console/i18n/events.py), which the
    console's /events page shows in zh-CN and English.

The output is deterministic (sorted keys, the declaration order of the protos and of topics.yaml
kept in x-cdsp-order), so `check` compares bytes.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]
from google.protobuf import descriptor_pb2

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "services") not in sys.path:  # run as a file, without the Makefile's PYTHONPATH
    sys.path.insert(0, str(ROOT / "services"))

from topics import DEFAULT_FILE as TOPICS_FILE  # noqa: E402
from topics import TopicSpec, load_topics  # noqa: E402

from console.entrypoints.pages.events import (  # noqa: E402 - needs the path above
    GUARANTEES,
    RECORD,
    Catalogue,
    build_view,
)
from console.i18n.events import MESSAGES as WORDS  # noqa: E402

PROTOS = ROOT / "protos"
EVENTS_PACKAGE = "cdsp.events.v1"
EVENTS_DIR = "cdsp/events/v1"
ENVELOPE = f"{EVENTS_PACKAGE}.Envelope"
DOCS = ROOT / "docs" / "events"
YAML_FILE, JSON_FILE, PAGE_FILE = "asyncapi.yaml", "asyncapi.json", "README.md"
COMMAND = "make events"
KAFKA_BINDING = "0.5.0"


class CatalogueError(ValueError):
    """The protos, topics.yaml and EVENTS disagree; the message says how."""


@dataclass(frozen=True)
class Event:
    """What the protos cannot say about an event type.

    `aggregate`: Envelope.aggregate_type. `key`: the record key (= Envelope.aggregate_id) as a
    template of payload fields, "{person.person_id}" or "{grid_code}:{item}"; a placeholder
    that is no payload field is explained in `key_note` and given a value in KEY_EXAMPLES.
    `snapshot`: "never" (a change only), "also" (a change, and what the snapshot command
    re-publishes of the aggregate), "only" (the snapshot command's alone). `summary`: what it
    means, for an event type whose message has no comment in its .proto (a comment is the
    better place: once it has one, delete the summary here, or generating fails)."""

    aggregate: str
    key: str
    snapshot: str = "never"
    summary: str = ""
    key_note: str = ""


# Every event type, by its message name in cdsp.events.v1. The aggregate types and keys are the
# ones the services record (grep `aggregate_type=` and SnapshotSource in services/).
EVENTS: dict[str, Event] = {
    # registry.proto: cdsp.registry.v1 (PersonContact: cdsp.registry.contacts.v1)
    "PersonRegistered": Event("person", "{person.person_id}",
                              summary="A person was registered, with their record as "
                                      "registered."),
    "PersonUpdated": Event("person", "{person.person_id}", "also",
                           summary="A person's record changed (changed_fields names what), "
                                   "including a move to another household or grid; also the "
                                   "snapshot of an active person."),
    "PersonNeedsChanged": Event("person", "{person_id}",
                                summary="A person's needs changed: the codes added and removed, "
                                        "and the full list after the change."),
    "PersonArchived": Event("person", "{person_id}", "also",
                            summary="A person's record was archived (moved out or deceased); "
                                    "also the snapshot of an archived person."),
    "PersonReactivated": Event("person", "{person.person_id}"),
    "VerificationRecorded": Event("person", "{person_id}",
                                  summary="A worker recorded this month's check of a person's "
                                          "record."),
    "JurisdictionChanged": Event("jurisdiction", "{code}", "also"),
    "VerificationDue": Event("person", "{person_id}"),
    "VerificationOverdue": Event("person", "{person_id}"),
    "CertificationDue": Event("person", "{person_id}"),
    "HouseholdChanged": Event("household", "{household_id}", "also"),
    "PersonContact": Event("person_contact", "{person_id}", "also"),
    # aid.proto: cdsp.aid.v1
    "WarningRaised": Event("aid_case", "{case_id}",
                           summary="A household's warning was raised: a case opened for it, or "
                                   "its open case rose to a higher level (red, orange, yellow)."),
    "CaseOpened": Event("aid_case", "{case_id}",
                        summary="An aid case was opened for a household's warning, with the "
                                "actions it requires."),
    "CaseResolved": Event("aid_case", "{case_id}",
                          summary="An aid case was resolved, with the worker's outcome."),
    "RequestDispatched": Event("service_request", "{request_id}",
                               summary="A service request (the 30-minute loop) was dispatched "
                                       "to a team, due on site by arrival_due_at."),
    "RequestArrived": Event("service_request", "{request_id}",
                            summary="The team arrived on site for a service request (on time "
                                    "or not)."),
    "RequestEscalated": Event("service_request", "{request_id}",
                              summary="A service request was escalated: a meeting is due "
                                      "within 24 hours."),
    "RequestResolved": Event("service_request", "{request_id}",
                             summary="A service request was resolved, with its result."),
    "SlaBreached": Event("service_request", "{request_id}",
                         summary="A service request missed a deadline: arrival (30 minutes) or "
                                 "meeting (24 hours)."),
    "ReliefDecided": Event("relief_decision", "{decision_id}", "also",
                           summary="Temporary relief for a household was granted or refused "
                                   "(with the limit that refused it)."),
    "KitLent": Event("kit_loan", "{loan_id}",
                     summary="A grid lent an emergency-kit item to a person."),
    "KitLowOnStock": Event("kit_stock", "{grid_code}:{item}",
                           summary="A grid's stock of a kit item fell to its low-stock "
                                   "threshold."),
    "SickbedVisitOverdue": Event("sickbed_schedule", "{person_id}",
                                 summary="A seriously ill person's home sickbed visit is "
                                         "overdue."),
    "CaseActionCompleted": Event("aid_case", "{case_id}"),
    "CaseActionBreached": Event("aid_case", "{case_id}"),
    "AidCaseState": Event("aid_case", "{case_id}", "only"),
    "ServiceRequestState": Event("service_request", "{request_id}", "only"),
    "KitStockState": Event("kit_stock", "{grid_code}:{item}", "only"),
    "KitLoanState": Event("kit_loan", "{loan_id}", "only"),
    "SickbedScheduleState": Event("sickbed_schedule", "{person_id}", "only"),
    "ReliefBudgetState": Event("relief_budget", "{community_path}:{year}", "only"),
    # employment.proto: cdsp.employment.v1
    "AssessmentCompleted": Event("employment_assessment", "{assessment_id}",
                                 summary="A person's employment assessment was completed, with "
                                         "its weighted total score."),
    "PlanMade": Event("employment_plan", "{person_id}",
                      summary="A person's employment plan was made or changed: the track it "
                              "recommends, or the one a worker chose instead."),
    "Enrolled": Event("course_enrolment", "{enrolment_id}",
                      summary="A person enrolled in a training course: given a seat or put on "
                              "the waiting list."),
    "CourseCompleted": Event("course_enrolment", "{enrolment_id}",
                             summary="A person completed a training course."),
    "Placed": Event("employment_placement", "{placement_id}",
                    summary="A person was placed in a job (with the employer's monthly "
                            "subsidy)."),
    "PlacementEnded": Event("employment_placement", "{placement_id}",
                            summary="A job placement ended."),
    "FollowUpDue": Event("employment_placement", "{placement_id}",
                         summary="A follow-up visit of a placement fell due (announced once per "
                                 "due date)."),
    "FollowUpOverdue": Event("employment_placement", "{placement_id}",
                             summary="A follow-up visit of a placement is overdue (announced "
                                     "once per due date)."),
    "StartupGrantAwarded": Event("employment_startup_grant", "{grant_id}", "also",
                                 summary="A person was awarded the one-off start-up grant."),
    "PlanState": Event("employment_plan", "{person_id}", "only"),
    "CourseState": Event("course", "{course_id}", "only"),
    "EnrolmentState": Event("course_enrolment", "{enrolment_id}", "only"),
    "PlacementState": Event("employment_placement", "{placement_id}", "only"),
    # volunteer.proto: cdsp.volunteer.v1
    "VolunteerRegistered": Event("volunteer", "{volunteer_id}",
                                 summary="A volunteer was registered, with the grids they "
                                         "serve."),
    "PairingMade": Event("pairing", "{pairing_id}",
                         summary="A person was paired with a community worker, volunteer or "
                                 "neighbour (the 1+1+N pairing)."),
    "PairingEnded": Event("pairing", "{pairing_id}", summary="A pairing ended."),
    "VisitLogged": Event("visit", "{visit_id}", "also",
                         summary="A visit (or a phone call) to a person was logged, with the "
                                 "follow-up needs it found."),
    "VisitMissed": Event("care_schedule", "{person_id}",
                         summary="A visit the person's risk colour requires did not happen in "
                                 "time."),
    "RiskColourChanged": Event("care_schedule", "{person_id}",
                               summary="A person's risk colour (how often they are visited) "
                                       "changed, by a worker or raised by an aid warning."),
    "VolunteerState": Event("volunteer", "{volunteer_id}", "only"),
    "PairingState": Event("pairing", "{pairing_id}", "only"),
    "CareScheduleState": Event("care_schedule", "{person_id}", "only"),
    # notification.proto: cdsp.notification.v1
    "NoticeSent": Event("notice", "{notice_id}",
                        summary="A notice was sent to its recipient on a channel."),
    "NoticeDelivered": Event("notice", "{notice_id}",
                             summary="A channel confirmed a notice's delivery."),
    "NoticeFailed": Event("notice", "{notice_id}",
                          summary="A notice could not be delivered on a channel after its "
                                  "attempts, or no channel could reach the recipient."),
    "NoticeState": Event("notice", "{notice_id}", "only"),
    # audit.proto: cdsp.audit.v1, written by every service
    "AuditRecorded": Event("audit", "{service}:{audit_id}"),
    "BreakGlassUsed": Event("break_glass", "{service}:{audit_id}",
                            key_note="audit_id: the id of the AuditRecorded of the same call"),
    # runtime.proto: the topic of the service whose consumer raised it
    "PendingEventExpired": Event("pending_event", "{event_id}"),
}
SNAPSHOT_KINDS = ("never", "also", "only")
# Event types published on another topic than their file's.
TOPIC_OF = {"PersonContact": "cdsp.registry.contacts.v1"}
# The services; runtime.proto's events go to the topic of whichever raised them.
SERVICES = ("registry", "aid", "employment", "volunteer", "notification")
# Who may read what: the topics that are not for every subscriber.
RESTRICTED = {
    "cdsp.registry.contacts.v1": (
        "Restricted: personal data (names, phones, guardians). For the notification service "
        "only, to reach people; the Helm chart's Kafka ACLs let no other principal read it. "
        "Never give it to a partner: partners get what they need from cdsp.registry.v1."),
    "cdsp.audit.v1": (
        "Restricted: the audit log of personal-data calls (who read or changed what). For the "
        "central audit store, which keeps it at least 6 months, and the notification service "
        "(BreakGlassUsed only); not for partners."),
}
PRODUCER_OF = {"cdsp.registry.contacts.v1": "registry", "cdsp.audit.v1": "every service"}

# ---------------------------------------------------------------- example values
# Obviously fake and stable: no real-looking resident ID or phone, masked names and numbers.
EXAMPLE_TIME = "2026-01-05T08:30:00Z"
EXAMPLE_PATH = "/9901/990101/990101001/990101001001/g01/"
KEY_EXAMPLES = {"audit_id": "1001"}
EXAMPLE_BY_FIELD: dict[str, Any] = {
    "jurisdiction_path": EXAMPLE_PATH, "path": "/9901/990101/990101001/990101001001/",
    "community_path": "/9901/990101/990101001/990101001001/", "grid_paths": EXAMPLE_PATH,
    "code": "990101001001", "parent_code": "990101001", "grid_code": "g01",
    "name": "张*", "guardian_name": "李*", "phone": "138****0000", "guardian_phone": "139****0000",
    "month": "2026-01", "item": "wheelchair", "channel": "sms", "recipient_kind": "resident",
    "deadline": "arrival", "refusal_limit": "per_case_cap", "action": "community_intervention",
    "required_actions": "community_intervention", "need_codes": "home_care",
    "added": "home_care", "removed": "rehabilitation", "follow_up_needs": "home_care",
    "priority_groups": "elderly_living_alone", "changed_fields": "household_id",
    "skills": "companionship", "service": "registry", "role": "grid_worker",
    "subject": "gw-01", "issuer": "https://issuer.example.invalid",
    "method": "/cdsp.registry.v1.RegistryService/GetPerson", "outcome": "OK",
    "consumer": "notification-notices", "event_type": "cdsp.events.v1.PersonRegistered",
    "source_event_type": "cdsp.events.v1.WarningRaised", "rule": "warning_raised",
    "template": "warning_raised", "title": "Example course", "course_title": "Example course",
    "records": "person:{person_id}", "waiting_for": "person:{person_id}",
    "filter": {"jurisdiction_path": EXAMPLE_PATH},
    "year": 2026, "day": 5, "grade": 2, "level": 4, "total_score": 72, "status": 2,
    "attempts": 1, "available": 2, "threshold": 3, "low_stock_threshold": 3, "total": 10,
    "hours_attended": 40, "duration_minutes": 30, "capacity": 20, "seats_taken": 12,
    "class_hours": 60, "audit_id": 1001, "row_count": 1, "max_load": 3, "load": 1,
    "service_minutes": 120, "waitlist_position": 0, "aggregate_version": 1,
}
# (message, field): where the field's usual example would mislead.
EXAMPLE_BY_MESSAGE_FIELD: dict[tuple[str, str], Any] = {
    ("JurisdictionChanged", "name"): "Example community",
    ("CaseResolved", "outcome"): "Example outcome (a worker's own words)",
    ("WarningRaised", "previous_level"): "WARNING_LEVEL_UNSPECIFIED",
    ("RiskColourChanged", "colour"): "RISK_COLOUR_YELLOW",
    ("RiskColourChanged", "previous"): "RISK_COLOUR_GREEN",
    ("ReliefDecided", "granted"): False,
    ("AuditRecorded", "break_glass_reason"): "",
    ("PersonSnapshot", "birth_date"): {"year": 1960, "month": 1, "day": 1},
    ("PersonSnapshot", "certified"): True,
    ("AidCaseState", "resolved_at"): None,
}
EXAMPLE_INT_SUFFIXES = (("_fen", 50000), ("_minutes", 30))

# ---------------------------------------------------------------- the descriptors

SCALARS: dict[str, tuple[dict[str, Any], str]] = {
    "TYPE_STRING": ({"type": "string"}, "string"),
    "TYPE_BOOL": ({"type": "boolean"}, "bool"),
    "TYPE_INT32": ({"type": "integer", "format": "int32"}, "int32"),
    "TYPE_SINT32": ({"type": "integer", "format": "int32"}, "sint32"),
    "TYPE_SFIXED32": ({"type": "integer", "format": "int32"}, "sfixed32"),
    "TYPE_UINT32": ({"type": "integer", "format": "uint32", "minimum": 0}, "uint32"),
    "TYPE_FIXED32": ({"type": "integer", "format": "uint32", "minimum": 0}, "fixed32"),
    "TYPE_INT64": ({"type": "integer", "format": "int64"}, "int64"),
    "TYPE_SINT64": ({"type": "integer", "format": "int64"}, "sint64"),
    "TYPE_SFIXED64": ({"type": "integer", "format": "int64"}, "sfixed64"),
    "TYPE_UINT64": ({"type": "integer", "format": "uint64", "minimum": 0}, "uint64"),
    "TYPE_FIXED64": ({"type": "integer", "format": "uint64", "minimum": 0}, "fixed64"),
    "TYPE_DOUBLE": ({"type": "number", "format": "double"}, "double"),
    "TYPE_FLOAT": ({"type": "number", "format": "float"}, "float"),
    "TYPE_BYTES": ({"type": "string", "contentEncoding": "base64"}, "bytes"),
}
WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Any": {
        "type": "object", "required": ["@type"],
        "properties": {"@type": {"type": "string",
                                 "description": "type.googleapis.com/ and the full name of "
                                                "the message the object holds"}}},
}
# SourceCodeInfo paths: FileDescriptorProto.message_type = 4, DescriptorProto.field = 2,
# .nested_type = 3, .enum_type = 4; FileDescriptorProto.enum_type = 5, EnumDescriptorProto.value
# = 2.
MESSAGE_TYPE, FIELD, NESTED, NESTED_ENUM, ENUM_TYPE, ENUM_VALUE = 4, 2, 3, 4, 5, 2


def compile_descriptors(protos: Path = PROTOS) -> descriptor_pb2.FileDescriptorSet:
    """protos/cdsp/events/v1/*.proto and what they import, with their comments."""
    import grpc_tools
    from grpc_tools import protoc

    files = sorted(str(p.relative_to(protos)) for p in (protos / EVENTS_DIR).glob("*.proto"))
    if not files:
        raise CatalogueError(f"no .proto files under {protos / EVENTS_DIR}")
    include = str(Path(grpc_tools.__file__).parent / "_proto")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "events.binpb"
        code = protoc.main(["protoc", f"-I{protos}", f"-I{include}", "--include_imports",
                            "--include_source_info", f"--descriptor_set_out={out}", *files])
        if code != 0:
            raise CatalogueError(f"protoc failed with {code}")
        return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())


def clean_comment(text: str) -> str:
    """A proto comment as prose: lines joined, paragraphs kept."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines() if line.strip())
                       for p in paragraphs if p.strip())


def first_sentence(text: str) -> str:
    found = re.match(r"(.+?[.!?])(?=\s+[A-Z(\"]|$)", text.replace("\n", " "), re.DOTALL)
    return (found.group(1) if found else text).strip()


@dataclass(frozen=True)
class Type:
    """A message or enum of the descriptor set, with where it was declared."""

    full_name: str
    file: str
    proto: Any  # DescriptorProto or EnumDescriptorProto
    comment: str
    inner: dict[Any, str]  # field name / enum value name -> its comment
    order: int

    @property
    def name(self) -> str:
        return self.full_name.rsplit(".", 1)[-1]


class Protos:
    """The messages and enums of a descriptor set, by full name, with their comments."""

    def __init__(self, files: descriptor_pb2.FileDescriptorSet) -> None:
        self.messages: dict[str, Type] = {}
        self.enums: dict[str, Type] = {}
        self.files: dict[str, descriptor_pb2.FileDescriptorProto] = {}
        for file in files.file:
            self.files[file.name] = file
            notes = {}
            for loc in file.source_code_info.location:
                text = " ".join(clean_comment(c) for c in (loc.leading_comments,
                                                           loc.trailing_comments) if c.strip())
                if text:
                    notes[tuple(loc.path)] = text
            prefix = f"{file.package}." if file.package else ""
            for i, message in enumerate(file.message_type):
                self._message(file.name, prefix, message, (MESSAGE_TYPE, i), notes)
            for i, enum in enumerate(file.enum_type):
                self._enum(file.name, prefix, enum, (ENUM_TYPE, i), notes)

    def _message(self, file: str, prefix: str, message: Any, path: tuple[int, ...],
                 notes: dict[tuple[int, ...], str]) -> None:
        full = prefix + message.name
        inner = {f.name: notes.get((*path, FIELD, k), "") for k, f in enumerate(message.field)}
        self.messages[full] = Type(full, file, message, notes.get(path, ""), inner,
                                   len(self.messages))
        for j, nested in enumerate(message.nested_type):
            self._message(file, f"{full}.", nested, (*path, NESTED, j), notes)
        for j, enum in enumerate(message.enum_type):
            self._enum(file, f"{full}.", enum, (*path, NESTED_ENUM, j), notes)

    def _enum(self, file: str, prefix: str, enum: Any, path: tuple[int, ...],
              notes: dict[tuple[int, ...], str]) -> None:
        full = prefix + enum.name
        inner = {v.name: notes.get((*path, ENUM_VALUE, k), "") for k, v in enumerate(enum.value)}
        self.enums[full] = Type(full, file, enum, notes.get(path, ""), inner, len(self.enums))

    def events_files(self) -> list[descriptor_pb2.FileDescriptorProto]:
        return [f for name, f in sorted(self.files.items())
                if name.startswith(f"{EVENTS_DIR}/")]


def _target(field: Any) -> str:
    return str(field.type_name).lstrip(".")


# ---------------------------------------------------------------- JSON Schema


class Schemas:
    """JSON Schema of protobuf messages and enums, written to components/schemas as they are
    needed (every message and enum an event reaches)."""

    def __init__(self, protos: Protos) -> None:
        self.protos = protos
        self.components: dict[str, dict[str, Any]] = {}

    @staticmethod
    def ref(full_name: str) -> dict[str, str]:
        return {"$ref": f"#/components/schemas/{full_name}"}

    def message(self, full_name: str) -> dict[str, str]:
        """The message as a component (written once); returns the $ref to it."""
        if full_name not in self.components:
            found = self.protos.messages.get(full_name)
            if found is None:
                raise CatalogueError(f"{full_name}: no such message in the descriptors")
            self.components[full_name] = {}  # a message that embeds itself stops here
            self.components[full_name] = self._message_schema(found)
        return self.ref(full_name)

    def _message_schema(self, message: Type) -> dict[str, Any]:
        proto = message.proto
        if any(not f.proto3_optional for f in proto.field if f.HasField("oneof_index")):
            raise CatalogueError(f"{message.full_name}: oneof fields are not catalogued yet "
                                 "(scripts/event_catalogue.py)")
        properties = {f.name: self.field(message, f) for f in proto.field}
        schema: dict[str, Any] = {"type": "object", "title": message.name,
                                  "properties": properties,
                                  "x-cdsp-proto": f"{message.full_name} ({message.file})"}
        if message.comment:
            schema["description"] = message.comment
        return schema

    def enum(self, full_name: str) -> dict[str, str]:
        if full_name not in self.components:
            found = self.protos.enums.get(full_name)
            if found is None:
                raise CatalogueError(f"{full_name}: no such enum in the descriptors")
            values = list(found.proto.value)
            schema: dict[str, Any] = {
                "type": "string", "title": found.name, "enum": [v.name for v in values],
                "x-cdsp-enum-numbers": {v.name: v.number for v in values},
                "x-cdsp-proto": f"{found.full_name} ({found.file})"}
            notes = {name: text for name, text in found.inner.items() if text}
            if notes:
                schema["x-cdsp-enum-descriptions"] = notes
            if found.comment:
                schema["description"] = found.comment
            self.components[full_name] = schema
        return self.ref(full_name)

    def _map_entry(self, field: Any) -> Any:
        if field.type != descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE:
            return None
        entry = self.protos.messages.get(_target(field))
        return entry.proto if entry is not None and entry.proto.options.map_entry else None

    def single(self, field: Any) -> tuple[dict[str, Any], str]:
        """The schema of one value of the field, and its protobuf type's name."""
        kind = descriptor_pb2.FieldDescriptorProto.Type.Name(field.type)
        if kind in SCALARS:
            schema, name = SCALARS[kind]
            return dict(schema), name
        target = _target(field)
        if target in WELL_KNOWN:
            return json.loads(json.dumps(WELL_KNOWN[target])), target
        if kind == "TYPE_ENUM":
            return self.enum(target), target
        if kind == "TYPE_MESSAGE":
            return self.message(target), target
        raise CatalogueError(f"{field.name}: protobuf type {kind} is not catalogued")

    def field(self, owner: Type, field: Any) -> dict[str, Any]:
        repeated = field.label == descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED
        entry = self._map_entry(field) if repeated else None
        schema: dict[str, Any]
        if entry is not None:
            key_field, value_field = entry.field
            value, value_name = self.single(value_field)
            schema = {"type": "object", "additionalProperties": value}
            proto_type = f"map<{self.single(key_field)[1]}, {value_name}>"
        else:
            value, proto_type = self.single(field)
            if repeated:
                schema = {"type": "array", "items": value}
                proto_type = f"repeated {proto_type}"
            elif "$ref" in value:  # a $ref takes no siblings: wrap it to describe it
                schema = {"allOf": [value]}
            else:
                schema = value
        schema["x-cdsp-field-number"] = field.number
        schema["x-cdsp-proto-type"] = proto_type
        note = owner.inner.get(field.name, "")
        if note:
            schema["description"] = note
        return schema


# ---------------------------------------------------------------- event types


@dataclass(frozen=True)
class EventType:
    message: Type
    event: Event
    topics: tuple[str, ...]
    producer: str     # who publishes it, in words
    service: str      # a service that does (the example's Envelope.producer)

    @property
    def name(self) -> str:
        return self.message.name

    @property
    def full_name(self) -> str:
        return self.message.full_name

    @property
    def summary(self) -> str:
        return first_sentence(self.message.comment) if self.message.comment else \
            self.event.summary


def topic_producer(topic: str) -> str:
    return PRODUCER_OF.get(topic, topic.split(".")[1])


def embedded(protos: Protos) -> set[str]:
    """The messages of events/v1 that other messages there embed (not events themselves)."""
    found = set()
    for file in protos.events_files():
        for message in file.message_type:
            for field in message.field:
                if field.type == descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE:
                    found.add(_target(field))
    return found


def event_types(protos: Protos, topics: list[TopicSpec]) -> list[EventType]:
    """Every event type, in the order of the topics file, then of declaration."""
    names = {t.name for t in topics}
    inner = embedded(protos)
    found: list[EventType] = []
    problems: list[str] = []
    seen: set[str] = set()
    for file in protos.events_files():
        stem = Path(file.name).stem
        for message in file.message_type:
            full = f"{file.package}.{message.name}"
            if full == ENVELOPE or full in inner:
                continue
            seen.add(message.name)
            event = EVENTS.get(message.name)
            if event is None:
                problems.append(f"{message.name} ({file.name}) is an event type with no entry "
                                "in EVENTS (scripts/event_catalogue.py): add its aggregate type "
                                "and key")
                continue
            kind = protos.messages[full]
            if event.snapshot not in SNAPSHOT_KINDS:
                problems.append(f"{message.name}: snapshot must be one of {SNAPSHOT_KINDS}")
            if kind.comment and event.summary:
                problems.append(f"{message.name} has a comment in {file.name} now: delete its "
                                "summary from EVENTS")
            if not kind.comment and not event.summary:
                problems.append(f"{message.name} says nowhere what it means: comment it in "
                                f"{file.name}")
            if stem == "runtime":
                on = tuple(f"cdsp.{s}.v1" for s in SERVICES)
                producer, service = "the service whose consumer raised it", "notification"
            else:
                on = (TOPIC_OF.get(message.name, f"cdsp.{stem}.v1"),)
                producer = topic_producer(on[0])
                service = stem if stem in SERVICES else SERVICES[0]
            problems.extend(f"{message.name}: topic {t} is not in {TOPICS_FILE.name}"
                            for t in on if t not in names)
            found.append(EventType(kind, event, on, producer, service))
    problems.extend(f"EVENTS names {name}, which no file in protos/{EVENTS_DIR} declares"
                    for name in sorted(set(EVENTS) - seen))
    published = {t for e in found for t in e.topics}
    problems.extend(f"topic {t.name} of {TOPICS_FILE.name} carries no event type"
                    for t in topics if t.name not in published)
    if problems:
        raise CatalogueError("\n".join(problems))
    order = {t.name: i for i, t in enumerate(topics)}  # the runtime's, on many topics, last
    found.sort(key=lambda e: (len(e.topics) > 1, min(order[t] for t in e.topics),
                              e.message.order))
    return found


# ---------------------------------------------------------------- examples


def fake_id(name: str) -> str:
    """A stable id for a field name that is obviously an example (a v4 UUID's shape)."""
    return f"00000000-0000-4000-8000-{zlib.crc32(name.encode()):012x}"


class Examples:
    """One deterministic example value per field, from the schema's types and the names above."""

    def __init__(self, protos: Protos) -> None:
        self.protos = protos

    def message(self, full_name: str, depth: int = 0) -> dict[str, Any]:
        message = self.protos.messages[full_name]
        out: dict[str, Any] = {}
        for field in message.proto.field:
            value = self.field(message, field, depth)
            if value is not None:
                out[field.name] = value
        return out

    def field(self, owner: Type, field: Any, depth: int) -> Any:
        special = (owner.name, field.name)
        if special in EXAMPLE_BY_MESSAGE_FIELD:
            return EXAMPLE_BY_MESSAGE_FIELD[special]
        repeated = field.label == descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED
        target = self.protos.messages.get(_target(field))
        if repeated and target is not None and target.proto.options.map_entry:
            return EXAMPLE_BY_FIELD.get(field.name, {"key": "value"})
        value = self.single(field, depth)
        return [value] if repeated and value is not None else value

    def single(self, field: Any, depth: int) -> Any:
        kind = descriptor_pb2.FieldDescriptorProto.Type.Name(field.type)
        name = field.name
        target = _target(field)
        if kind == "TYPE_MESSAGE":
            if target == "google.protobuf.Timestamp":
                return EXAMPLE_TIME
            if target in WELL_KNOWN or depth > 3:
                return None
            return self.message(target, depth + 1)
        if kind == "TYPE_ENUM":
            values = [v.name for v in self.protos.enums[target].proto.value]
            return values[1] if len(values) > 1 else values[0]
        if kind == "TYPE_BOOL":
            return bool(EXAMPLE_BY_FIELD.get(name, False))
        if kind in ("TYPE_DOUBLE", "TYPE_FLOAT"):
            return 1.5
        if kind == "TYPE_STRING":
            value = EXAMPLE_BY_FIELD.get(name)
            if isinstance(value, str):
                return value.replace("{person_id}", fake_id("person_id"))
            return fake_id(name) if name.endswith("_id") else f"example {name}"
        if kind == "TYPE_BYTES":
            return "ZXhhbXBsZQ=="
        value = EXAMPLE_BY_FIELD.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        for suffix, number in EXAMPLE_INT_SUFFIXES:
            if name.endswith(suffix):
                return number
        return 1


def key_parts(template: str) -> list[str]:
    return re.findall(r"\{([a-z0-9_.]+)\}", template)


def resolve(payload: dict[str, Any], dotted: str) -> Any:
    value: Any = payload
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def example_key(event: EventType, payload: dict[str, Any]) -> str:
    def value(match: re.Match[str]) -> str:
        found = resolve(payload, match.group(1))
        return str(found if found is not None else KEY_EXAMPLES[match.group(1)])

    return re.sub(r"\{([a-z0-9_.]+)\}", value, event.event.key)


def check_keys(protos: Protos, events: list[EventType]) -> None:
    """Every placeholder of a key names a payload field (or an explained outside value)."""
    problems = []
    for e in events:
        for part in key_parts(e.event.key):
            message, field = e.message, None
            for step in part.split("."):
                field = next((f for f in message.proto.field if f.name == step), None)
                if field is None:
                    break
                if field.type == descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE:
                    message = protos.messages[_target(field)]
            if field is None and not (part in KEY_EXAMPLES and e.event.key_note):
                problems.append(f"{e.name}: key field {part} is not in the payload")
    if problems:
        raise CatalogueError("\n".join(problems))


# ---------------------------------------------------------------- the AsyncAPI document


def words(key: str) -> str:
    """The English words of the console's catalogue (console/i18n/events.py)."""
    return WORDS[key][1]


def topic_description(path: Path = TOPICS_FILE) -> dict[str, str]:
    """Each topic's comment in the topics file (the lines of `#` right above `- name:`)."""
    found: dict[str, str] = {}
    comment: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        named = re.match(r"-\s*name:\s*(\S+)", stripped)
        if stripped.startswith("#") and line.startswith(" "):
            comment.append(stripped.lstrip("#").strip())
        elif named:
            found[named.group(1)] = clean_comment("\n".join(comment))
            comment = []
        else:
            comment = []
    return found


def _key_description(e: EventType) -> str:
    text = (f"Envelope.aggregate_id as UTF-8 text: {e.event.key} of the payload (aggregate "
            f"type {e.event.aggregate})")
    return f"{text} ({e.event.key_note})" if e.event.key_note else text


def info_description() -> str:
    parts = [words("events.intro"), "",
             f"## {words('events.record')}", "",
             *(f"- {words(k)}" for k in RECORD), "",
             f"## {words('events.guarantees')}", "",
             *(f"- {words(k)}" for k in GUARANTEES), "",
             f"## {words('events.versioning')}", "", words("events.versioning.text"), "",
             f"## {words('events.restricted')}", "", words("events.restricted.text"), "",
             *(f"- `{topic}`: {note}" for topic, note in RESTRICTED.items())]
    return "\n".join(parts)


def _topic_config(spec: TopicSpec) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for key, value in spec.config.items():
        if key == "cleanup.policy":
            config[key] = sorted(value.split(","))
        elif re.fullmatch(r"-?[0-9]+", value):
            config[key] = int(value)
        else:
            config[key] = value
    return config


def document(protos: Protos | None = None, topics: list[TopicSpec] | None = None
             ) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of every topic and event type."""
    protos = protos or Protos(compile_descriptors())
    topics = topics if topics is not None else load_topics()
    events = event_types(protos, topics)
    check_keys(protos, events)
    schemas = Schemas(protos)
    examples = Examples(protos)
    notes = topic_description()
    schemas.message(ENVELOPE)
    messages: dict[str, Any] = {}
    for order, e in enumerate(events):
        payload = examples.message(e.full_name)
        key = example_key(e, payload)
        envelope = examples.message(ENVELOPE)
        envelope.update(
            event_id=fake_id("event_id"), event_type=e.full_name, occurred_at=EXAMPLE_TIME,
            aggregate_type=e.event.aggregate, aggregate_id=key,
            producer=e.service,
            actor="gw-01", jurisdiction_path=EXAMPLE_PATH, snapshot=e.event.snapshot == "only",
            payload={"@type": f"type.googleapis.com/{e.full_name}", **payload})
        narrowed: dict[str, Any] = {
            "event_type": {"type": "string", "const": e.full_name},
            "aggregate_type": {"type": "string", "const": e.event.aggregate},
            "payload": schemas.message(e.full_name)}
        if e.event.snapshot == "only":
            narrowed["snapshot"] = {"type": "boolean", "const": True}
        message: dict[str, Any] = {
            "name": e.name,
            "title": re.sub(r"(?<=[a-z])(?=[A-Z])", " ", e.name),
            "summary": e.summary,
            "contentType": "application/x-protobuf",
            "headers": {"type": "object", "properties": {"event_type": {
                "type": "string", "const": e.full_name,
                "description": "The record header event_type: Envelope.event_type, to filter "
                               "without parsing the value"}}},
            "payload": {"allOf": [schemas.ref(ENVELOPE),
                                  {"type": "object", "properties": narrowed}]},
            "bindings": {"kafka": {"key": {"type": "string",
                                           "description": _key_description(e)},
                                   "bindingVersion": KAFKA_BINDING}},
            "examples": [{"name": f"{e.name}Example",
                          "summary": f"Record key: {key}",
                          "headers": {"event_type": e.full_name},
                          "payload": envelope}],
            "x-cdsp-event-type": e.full_name,
            "x-cdsp-aggregate-type": e.event.aggregate,
            "x-cdsp-key": e.event.key,
            "x-cdsp-snapshot": e.event.snapshot,
            "x-cdsp-producer": e.producer,
            "x-cdsp-order": order,
        }
        if e.event.key_note:
            message["x-cdsp-key-note"] = e.event.key_note
        if e.message.comment:
            message["description"] = e.message.comment
        messages[e.name] = message
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for order, spec in enumerate(topics):
        on = [e for e in events if spec.name in e.topics]
        channel: dict[str, Any] = {
            "address": spec.name,
            "title": spec.name,
            "description": notes.get(spec.name, ""),
            "messages": {e.name: {"$ref": f"#/components/messages/{e.name}"} for e in on},
            "servers": [{"$ref": "#/servers/kafka"}],
            "bindings": {"kafka": {"topic": spec.name, "partitions": spec.partitions,
                                   "replicas": spec.replication,
                                   "topicConfiguration": _topic_config(spec),
                                   "bindingVersion": KAFKA_BINDING}},
            "x-cdsp-order": order,
            "x-cdsp-producer": topic_producer(spec.name),
        }
        operation: dict[str, Any] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{spec.name}"},
            "title": f"Receive {spec.name}",
            "summary": f"A subscriber of {spec.name}: every event type it carries.",
            "description": words("events.operation"),
            "messages": [{"$ref": f"#/channels/{spec.name}/messages/{e.name}"} for e in on],
            "bindings": {"kafka": {"groupId": {"type": "string",
                                               "description": "A consumer group of the "
                                                              "subscriber's own"},
                                   "bindingVersion": KAFKA_BINDING}},
        }
        if spec.name in RESTRICTED:
            channel["x-cdsp-restricted"] = RESTRICTED[spec.name]
            channel["tags"] = operation["tags"] = [{"name": "restricted"}]
            channel["description"] = f"{channel['description']}\n\n{RESTRICTED[spec.name]}"
        channels[spec.name] = channel
        operations[f"receive.{spec.name}"] = operation
    return {
        "asyncapi": "3.0.0",
        "id": "urn:cdsp:events",
        "info": {"title": "CDSP platform events", "version": "v1",
                 "description": info_description(),
                 "tags": [{"name": "restricted",
                           "description": "Not for every subscriber: see the channel"}]},
        "defaultContentType": "application/x-protobuf",
        "servers": {"kafka": {
            "host": "kafka.example.invalid:9092", "protocol": "kafka",
            "description": "A placeholder: each deployment's brokers (the local stack's: "
                           "127.0.0.1:9092). Clients connect as CDSP_KAFKA_SECURITY_PROTOCOL "
                           "says (TLS and SASL/SCRAM on a production cluster); topic ACLs "
                           "decide who reads what."}},
        "channels": channels,
        "operations": operations,
        "components": {"schemas": dict(sorted(schemas.components.items())),
                       "messages": messages},
    }


# ---------------------------------------------------------------- rendering


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:  # every repeated part written out in full
        return True


def _text(dumper: yaml.SafeDumper, value: str) -> Any:
    style = "|" if "\n" in value and not re.search(r"[ \t]\n|\s$", value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def render_yaml(doc: dict[str, Any]) -> str:
    head = ("# The platform's event catalogue (AsyncAPI 3.0.0), generated by "
            "scripts/event_catalogue.py\n# from protos/cdsp/events/v1 and "
            f"deploy/kafka/topics.yaml. Do not edit: run `{COMMAND}`.\n")
    body: str = yaml.dump(doc, Dumper=_Dumper, sort_keys=True, allow_unicode=True,
                          default_flow_style=False, width=100)
    return head + body


def render_json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n\n", "<br><br>").replace("\n", " ")


def _both(key: str) -> str:
    zh, en = WORDS[key]
    return f"{en} · {zh}"


def slug(heading: str) -> str:
    """The anchor a Markdown renderer (GitHub's) gives a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def render_page(view: Catalogue) -> str:
    """docs/events/README.md: the catalogue for people."""
    out = [f"# {_both('events.title')}", "",
           f"<!-- Generated by scripts/event_catalogue.py: do not edit, run `{COMMAND}`. -->", "",
           words("events.intro"), "",
           f"The same catalogue as an AsyncAPI 3.0 document: [{YAML_FILE}]({YAML_FILE}) "
           f"([{JSON_FILE}]({JSON_FILE})). The worker console shows this page at `/events` and "
           f"serves the documents at `/events/{YAML_FILE}` and `/events/{JSON_FILE}`.", ""]
    out += [f"## {_both('events.record')}", ""]
    out += [f"- {words(k)}" for k in RECORD]
    out += ["", f"## {_both('events.guarantees')}", ""]
    out += [f"- {words(k)}" for k in GUARANTEES]
    out += ["", f"## {_both('events.versioning')}", "", words("events.versioning.text"), ""]
    out += [f"## {_both('events.restricted')}", "", words("events.restricted.text"), ""]
    out += [f"- `{t.name}`: {t.restricted}" for t in view.topics if t.restricted]
    out += ["", f"## {_both('events.topics')}", ""]
    link = {e.name: f"[{e.name}](#{slug(e.name)})" for e in view.events}
    for topic in view.topics:
        out += [f"### {topic.name}", "", topic.description, "",
                f"Partitions {topic.partitions}, replication {topic.replication}, "
                f"cleanup.policy {topic.cleanup}, retention {topic.retention}, "
                f"min.insync.replicas {topic.min_insync}. Producer: {topic.producer}.", "",
                f"| {words('events.col.event')} | {words('events.col.key')} | "
                f"{words('events.col.snapshot')} | {words('events.col.meaning')} |",
                "|---|---|---|---|"]
        for e in topic.events:
            out.append(f"| {link[e.name]} | `{e.key}` ({e.aggregate}) | "
                       f"{words('events.snapshot.' + e.snapshot)} | {_cell(e.summary)} |")
        out.append("")
    out += [f"## {_both('events.event_types')}", ""]
    for e in view.events:
        out += [f"### {e.name}", "", f"`{e.full_name}` on {', '.join(e.topics)}. "
                f"{words('events.col.key')}: `{e.key}` ({e.aggregate})"
                f"{'; ' + e.key_note if e.key_note else ''}. "
                f"{words('events.col.snapshot')}: {words('events.snapshot.' + e.snapshot)}.",
                "", e.description or e.summary, ""]
        out += _fields_table(e.fields)
    out += [f"## {_both('events.shared')}", ""]
    for t in view.types:
        out += [f"### {t.name}", "", f"`{t.full_name}`" + (f". {t.description}"
                                                           if t.description else ""), ""]
        if t.values:
            out += [f"| {words('events.col.value')} | {words('events.col.number')} | "
                    f"{words('events.col.description')} |", "|---|---|---|"]
            out += [f"| `{v.name}` | {v.number} | {_cell(v.description)} |" for v in t.values]
            out.append("")
        else:
            out += _fields_table(t.fields)
    return "\n".join(out).rstrip("\n") + "\n"


def _fields_table(fields: tuple[Any, ...]) -> list[str]:
    if not fields:
        return ["(no fields)", ""]
    rows = [f"| {words('events.col.field')} | {words('events.col.number')} | "
            f"{words('events.col.type')} | {words('events.col.description')} |",
            "|---|---|---|---|"]
    for f in fields:
        kind = f"[`{f.type}`](#{slug(f.link)})" if f.link else f"`{f.type}`"
        rows.append(f"| `{f.name}` | {f.number} | {kind} | {_cell(f.description)} |")
    return [*rows, ""]


def outputs(doc: dict[str, Any] | None = None) -> dict[str, str]:
    """Each file of docs/events by name, as generated now."""
    doc = doc if doc is not None else document()
    text = render_json(doc)
    return {YAML_FILE: render_yaml(doc), JSON_FILE: text,
            PAGE_FILE: render_page(build_view(json.loads(text)))}


def stale(folder: Path = DOCS, fresh: dict[str, str] | None = None) -> list[str]:
    """The files of `folder` that differ from a fresh generation (or are missing)."""
    fresh = fresh if fresh is not None else outputs()
    return [name for name, text in fresh.items()
            if not (folder / name).is_file() or (folder / name).read_text(encoding="utf-8")
            != text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("command", choices=("generate", "check"))
    parser.add_argument("--out", type=Path, default=DOCS, help="the folder (docs/events)")
    args = parser.parse_args(argv)
    try:
        fresh = outputs()
    except (CatalogueError, OSError, yaml.YAMLError) as exc:
        print(f"event_catalogue: {exc}", file=sys.stderr)
        return 2
    if args.command == "generate":
        args.out.mkdir(parents=True, exist_ok=True)
        for name, text in fresh.items():
            (args.out / name).write_text(text, encoding="utf-8")
        print(f"wrote {', '.join(sorted(fresh))} to {args.out}")
        return 0
    differ = stale(args.out, fresh)
    for name in differ:
        print(f"stale: {args.out / name} (run `{COMMAND}`)")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
