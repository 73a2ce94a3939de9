"""The event catalogue (docs/events, scripts/event_catalogue.py): the committed documents are
what `make events` generates now; the AsyncAPI document is a well-formed AsyncAPI 3.0.0 document
whose every $ref resolves; every event type of protos/cdsp/events/v1 is in it, on the topics of
deploy/kafka/topics.yaml with their settings; its examples fit their schemas and carry nothing
shaped like a resident ID or a mobile number. Each check is also shown failing on a broken
copy, so a check that cannot fail does not pass for one that works."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import event_catalogue
import pytest
import yaml
from event_catalogue import DOCS, EVENTS, CatalogueError, Event, outputs, stale
from topics import load_topics

ROOT = Path(__file__).resolve().parents[2]
EVENT_PROTOS = ROOT / "protos" / "cdsp" / "events" / "v1"
# An 18-character resident ID (17 digits and a digit or X) and an 11-digit number (a mobile's
# length) standing alone, whatever the separators around them.
RESIDENT_ID = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
MOBILE = re.compile(r"(?<![0-9])[0-9]{11}(?![0-9])")
OPERATION_ACTIONS = {"send", "receive"}


@pytest.fixture(scope="module")
def fresh() -> dict[str, str]:
    return outputs()


@pytest.fixture(scope="module")
def doc(fresh: dict[str, str]) -> dict[str, Any]:
    parsed: dict[str, Any] = yaml.safe_load(fresh["asyncapi.yaml"])
    return parsed


# ---------------------------------------------------------------- checks (also run on mutants)


def pointer(doc: dict[str, Any], ref: str) -> Any:
    """The object a local $ref ("#/a/b") points at; KeyError when it points nowhere."""
    if not ref.startswith("#/"):
        raise KeyError(ref)
    found: Any = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        found = found[int(part)] if isinstance(found, list) else found[part]
    return found


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def broken_refs(doc: dict[str, Any]) -> list[str]:
    broken = []
    for ref in refs(doc):
        try:
            pointer(doc, ref)
        except (KeyError, IndexError, ValueError, TypeError):
            broken.append(ref)
    return broken


def structure_problems(doc: dict[str, Any]) -> list[str]:
    """What AsyncAPI 3.0.0 requires of the document's shape (the parts this one uses)."""
    problems = []
    if doc.get("asyncapi") != "3.0.0":
        problems.append(f"asyncapi is {doc.get('asyncapi')!r}, not '3.0.0'")
    info = doc.get("info") or {}
    for field in ("title", "version"):
        if not isinstance(info.get(field), str) or not info.get(field):
            problems.append(f"info.{field} missing")
    for name, server in (doc.get("servers") or {}).items():
        if not server.get("host") or not server.get("protocol"):
            problems.append(f"server {name} lacks host or protocol")
    channels = doc.get("channels") or {}
    if not channels:
        problems.append("no channels")
    for name, channel in channels.items():
        if not isinstance(channel.get("address"), str):
            problems.append(f"channel {name} has no address")
        if not channel.get("messages"):
            problems.append(f"channel {name} has no messages")
        for message in (channel.get("messages") or {}).values():
            if "$ref" in message and not message["$ref"].startswith("#/components/messages/"):
                problems.append(f"channel {name}: {message['$ref']} is no component message")
    operations = doc.get("operations") or {}
    if not operations:
        problems.append("no operations")
    for name, operation in operations.items():
        if operation.get("action") not in OPERATION_ACTIONS:
            problems.append(f"operation {name}: action {operation.get('action')!r}")
        channel_ref = (operation.get("channel") or {}).get("$ref", "")
        if not channel_ref.startswith("#/channels/"):
            problems.append(f"operation {name}: channel is no $ref to a channel")
            continue
        for message in operation.get("messages") or []:
            if not message.get("$ref", "").startswith(f"{channel_ref}/messages/"):
                problems.append(f"operation {name}: {message.get('$ref')} is not a message of "
                                "its channel")
    for name, message in ((doc.get("components") or {}).get("messages") or {}).items():
        if "payload" not in message:
            problems.append(f"message {name} has no payload")
        for example in message.get("examples") or []:
            if set(example) - {"name", "summary", "headers", "payload"}:
                problems.append(f"message {name}: an example has {sorted(example)}")
    return problems + [f"unresolved $ref {r}" for r in broken_refs(doc)]


def personal_numbers(doc: dict[str, Any]) -> list[str]:
    """Resident-ID- or mobile-shaped numbers in the document's examples."""
    found = []
    for name, message in doc["components"]["messages"].items():
        text = json.dumps(message.get("examples"), ensure_ascii=False)
        found += [f"{name}: {m}" for m in RESIDENT_ID.findall(text) + MOBILE.findall(text)]
    return found


def proto_messages() -> dict[str, str]:
    """Every top-level message of protos/cdsp/events/v1, read from the .proto text -> file."""
    return {name: path.name for path in sorted(EVENT_PROTOS.glob("*.proto"))
            for name in re.findall(r"^message\s+(\w+)", path.read_text(), re.MULTILINE)}


# ---------------------------------------------------------------- the committed documents


def test_the_committed_documents_are_what_make_events_generates(fresh: dict[str, str]) -> None:
    assert sorted(fresh) == ["README.md", "asyncapi.json", "asyncapi.yaml"]
    differ = stale(DOCS, fresh)
    assert not differ, (f"docs/events is stale ({', '.join(differ)}): run `make events` "
                        "(scripts/event_catalogue.py generate) and commit the result")
    assert json.loads(fresh["asyncapi.json"]) == yaml.safe_load(fresh["asyncapi.yaml"])


def test_check_names_each_stale_file_and_the_command(tmp_path: Path,
                                                     fresh: dict[str, str],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    for name, text in fresh.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert event_catalogue.main(["check", "--out", str(tmp_path)]) == 0
    (tmp_path / "asyncapi.yaml").write_text(fresh["asyncapi.yaml"].replace("30 days", "31 days"),
                                            encoding="utf-8")
    (tmp_path / "README.md").unlink()
    assert event_catalogue.main(["check", "--out", str(tmp_path)]) == 1
    said = capsys.readouterr().out
    assert "asyncapi.yaml" in said and "README.md" in said and "make events" in said
    assert "asyncapi.json" not in said


def test_generating_twice_gives_the_same_bytes(fresh: dict[str, str]) -> None:
    assert outputs() == fresh


# ---------------------------------------------------------------- AsyncAPI structure


def test_the_document_is_asyncapi_3_and_every_ref_resolves(doc: dict[str, Any]) -> None:
    assert structure_problems(doc) == []
    assert list(refs(doc)), "no $ref at all: the check below would prove nothing"


def test_the_structure_check_finds_what_is_broken(doc: dict[str, Any]) -> None:
    mutant = copy.deepcopy(doc)
    mutant["asyncapi"] = "2.6.0"
    del mutant["info"]["version"]
    first = next(iter(mutant["channels"]))
    del mutant["channels"][first]["address"]
    operation = next(iter(mutant["operations"].values()))
    operation["action"] = "subscribe"
    operation["messages"].append({"$ref": "#/channels/nowhere/messages/Nothing"})
    mutant["components"]["schemas"].pop("cdsp.events.v1.PersonSnapshot")
    found = "\n".join(structure_problems(mutant))
    for expected in ("not '3.0.0'", "info.version", f"channel {first} has no address",
                     "'subscribe'", "is not a message of its channel",
                     "unresolved $ref #/components/schemas/cdsp.events.v1.PersonSnapshot",
                     "unresolved $ref #/channels/nowhere/messages/Nothing"):
        assert expected in found, (expected, found)


def test_the_document_validates_against_the_asyncapi_3_json_schema(doc: dict[str, Any]) -> None:
    """The official AsyncAPI 3.0.0 JSON schema (npm @asyncapi/specs 6.11.1,
    schemas/3.0.0-without-$id.json, Apache-2.0), vendored in tests/schemas."""
    import jsonschema

    schema = json.loads((Path(__file__).resolve().parents[1] / "schemas"
                         / "asyncapi-3.0.0.json").read_text())
    errors = list(jsonschema.Draft7Validator(schema).iter_errors(json.loads(json.dumps(doc))))
    assert not errors, [f"{list(e.path)}: {e.message[:200]}" for e in errors[:10]]
    broken = json.loads(json.dumps(doc))
    del broken["info"]["version"]
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))


# ---------------------------------------------------------------- what it covers


def test_every_event_type_of_the_protos_is_catalogued(doc: dict[str, Any]) -> None:
    defined = proto_messages()
    assert "Envelope" in defined and len(defined) > 50, defined
    messages = doc["components"]["messages"]
    schemas = doc["components"]["schemas"]
    embedded = {"PersonSnapshot", "CaseActionState", "DeliveryState"}
    for name, file in defined.items():
        if name == "Envelope":
            assert name not in messages
            assert "cdsp.events.v1.Envelope" in schemas
            continue
        assert f"cdsp.events.v1.{name}" in schemas, f"{name} ({file}) has no schema"
        if name in embedded:
            assert name not in messages, f"{name} is part of events, not one"
            continue
        assert name in messages, f"{name} ({file}) is not in the catalogue"
        message = messages[name]
        assert message["x-cdsp-event-type"] == f"cdsp.events.v1.{name}"
        assert message["summary"], f"{name} says nothing of what it means"
        on = [c for c, channel in doc["channels"].items() if name in channel["messages"]]
        assert on, f"{name} is on no topic"
    assert set(messages) == set(defined) - embedded - {"Envelope"}


def test_each_event_type_is_on_its_service_s_topic(doc: dict[str, Any]) -> None:
    defined = proto_messages()
    services = ("registry", "aid", "employment", "volunteer", "notification")
    for name, channel in doc["channels"].items():
        for message in channel["messages"]:
            file = defined[message].removesuffix(".proto")
            if file == "runtime":
                assert name in {f"cdsp.{s}.v1" for s in services}
            elif message == "PersonContact":
                assert name == "cdsp.registry.contacts.v1"
            else:
                assert name == f"cdsp.{file}.v1", (message, name)
    assert set(doc["channels"]["cdsp.registry.contacts.v1"]["messages"]) == {"PersonContact"}
    assert set(doc["channels"]["cdsp.audit.v1"]["messages"]) == {"AuditRecorded",
                                                                 "BreakGlassUsed"}


def test_channels_are_the_topics_file_with_its_settings(doc: dict[str, Any]) -> None:
    topics = load_topics()
    assert [t.name for t in topics] == sorted(doc["channels"], key=lambda c: doc["channels"][
        c]["x-cdsp-order"])
    for spec in topics:
        channel = doc["channels"][spec.name]
        assert channel["address"] == spec.name
        kafka = channel["bindings"]["kafka"]
        assert (kafka["partitions"], kafka["replicas"]) == (spec.partitions, spec.replication)
        config = kafka["topicConfiguration"]
        assert config["retention.ms"] == int(spec.config["retention.ms"])
        assert ",".join(config["cleanup.policy"]) in (spec.config["cleanup.policy"],
                                                      ",".join(reversed(spec.config[
                                                          "cleanup.policy"].split(","))))
        assert config["min.insync.replicas"] == int(spec.config["min.insync.replicas"])
        operation = doc["operations"][f"receive.{spec.name}"]
        assert operation["action"] == "receive"
        assert {m["$ref"].rsplit("/", 1)[-1] for m in operation["messages"]} == set(
            channel["messages"])
    restricted = {n for n, c in doc["channels"].items() if "x-cdsp-restricted" in c}
    assert restricted == {"cdsp.registry.contacts.v1", "cdsp.audit.v1"}
    assert all(doc["channels"][n]["tags"] == [{"name": "restricted"}] for n in restricted)


def test_schemas_follow_the_protos_types(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    snapshot = schemas["cdsp.events.v1.PersonSnapshot"]["properties"]
    assert snapshot["person_id"]["type"] == "string"
    assert snapshot["household_monthly_income_fen"]["format"] == "int64"
    assert snapshot["priority_groups"] == {
        "type": "array", "items": {"type": "string"}, "x-cdsp-field-number": 17,
        "x-cdsp-proto-type": "repeated string"}
    assert snapshot["category"]["allOf"] == [
        {"$ref": "#/components/schemas/cdsp.common.v1.DisabilityCategory"}]
    assert snapshot["birth_date"]["allOf"] == [
        {"$ref": "#/components/schemas/cdsp.common.v1.Date"}]
    assert "name" not in snapshot and "phone" not in snapshot  # reserved, never published
    category = schemas["cdsp.common.v1.DisabilityCategory"]
    assert category["type"] == "string" and "DISABILITY_CATEGORY_VISUAL" in category["enum"]
    assert category["x-cdsp-enum-numbers"]["DISABILITY_CATEGORY_MULTIPLE"] == 7
    track = schemas["cdsp.events.v1.EmploymentTrack"]
    assert "technical posts" in track["x-cdsp-enum-descriptions"]["EMPLOYMENT_TRACK_TECHNICAL"]
    visit = schemas["cdsp.events.v1.VerificationDue"]["properties"]
    assert visit["due_by"]["type"] == "string" and visit["due_by"]["format"] == "date-time"
    assert "the 5th of the month" in visit["due_by"]["description"]  # a trailing comment
    audit = schemas["cdsp.events.v1.AuditRecorded"]["properties"]["filter"]
    assert audit["type"] == "object" and audit["additionalProperties"] == {"type": "string"}
    actions = schemas["cdsp.events.v1.AidCaseState"]["properties"]["actions"]
    assert actions["items"] == {"$ref": "#/components/schemas/cdsp.events.v1.CaseActionState"}
    assert "What other services need to know" in schemas["cdsp.events.v1.PersonSnapshot"][
        "description"]  # a leading comment


def test_each_message_names_its_key_and_the_key_is_in_its_example(doc: dict[str, Any]) -> None:
    for name, message in doc["components"]["messages"].items():
        key = message["bindings"]["kafka"]["key"]
        assert key["type"] == "string" and message["x-cdsp-key"] in key["description"]
        [example] = message["examples"]
        envelope = example["payload"]
        assert example["summary"] == f"Record key: {envelope['aggregate_id']}", name
        assert example["headers"] == {"event_type": message["x-cdsp-event-type"]}
        assert envelope["event_type"] == message["x-cdsp-event-type"]
        assert envelope["aggregate_type"] == message["x-cdsp-aggregate-type"]
        assert envelope["payload"]["@type"].endswith("/" + message["x-cdsp-event-type"])
        assert envelope["snapshot"] is (message["x-cdsp-snapshot"] == "only")
        for part in re.findall(r"\{([a-z0-9_.]+)\}", message["x-cdsp-key"]):
            value: Any = envelope["payload"]
            for step in part.split("."):
                value = value.get(step) if isinstance(value, dict) else None
            assert value is not None or message.get("x-cdsp-key-note"), (name, part)
            if value is not None:
                assert str(value) in envelope["aggregate_id"], (name, part)


def test_the_aggregate_types_are_the_ones_the_services_record(doc: dict[str, Any]) -> None:
    """EVENTS is written by hand from the code: the aggregate types it names are exactly the
    ones the services pass to uow.record and SnapshotSource."""
    recorded: set[str] = set()
    for path in (ROOT / "services").rglob("*.py"):
        if "cdsp" in path.relative_to(ROOT / "services").parts[:1]:
            continue
        text = path.read_text(encoding="utf-8")
        recorded |= set(re.findall(r'aggregate_type="([a-z_]+)"', text))
        recorded |= set(re.findall(r'SnapshotSource\(\s*"([a-z_]+)"', text))
        recorded |= set(re.findall(r'^CONTACT_AGGREGATE = "([a-z_]+)"', text, re.MULTILINE))
    catalogued = {m["x-cdsp-aggregate-type"] for m in doc["components"]["messages"].values()}
    assert catalogued == recorded


# ---------------------------------------------------------------- examples


def test_examples_fit_their_schemas(doc: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    referencing = pytest.importorskip("referencing")
    from referencing.jsonschema import DRAFT7

    registry = referencing.Registry().with_resource(
        "urn:cdsp:events", DRAFT7.create_resource(json.loads(json.dumps(doc))))
    for name, message in doc["components"]["messages"].items():
        for part in ("payload", "headers"):
            validator = jsonschema.Draft7Validator(
                {"$ref": f"urn:cdsp:events#/components/messages/{name}/{part}"},
                registry=registry)
            errors = [f"{list(e.path)}: {e.message}" for e in
                      validator.iter_errors(message["examples"][0][part])]
            assert not errors, (name, part, errors[:5])
    # and the check can fail: a field of the wrong type, the wrong event type
    broken = copy.deepcopy(doc["components"]["messages"]["PersonRegistered"]["examples"][0])
    broken["payload"]["payload"]["person"]["grade"] = "two"
    broken["payload"]["event_type"] = "cdsp.events.v1.PersonUpdated"
    validator = jsonschema.Draft7Validator(
        {"$ref": "urn:cdsp:events#/components/messages/PersonRegistered/payload"},
        registry=registry)
    assert len(list(validator.iter_errors(broken["payload"]))) >= 2


def test_examples_hold_no_resident_id_or_mobile_number(doc: dict[str, Any]) -> None:
    assert personal_numbers(doc) == []
    contact = doc["components"]["messages"]["PersonContact"]["examples"][0]["payload"]["payload"]
    assert "*" in contact["phone"] and "*" in contact["guardian_phone"]  # masked forms
    assert "*" in contact["name"] and "*" in contact["guardian_name"]
    mutant = copy.deepcopy(doc)
    example = mutant["components"]["messages"]["PersonContact"]["examples"][0]["payload"]
    example["payload"]["phone"] = "139" + "0" * 8
    example["payload"]["name"] = "id " + "1" * 17 + "X"
    assert len(personal_numbers(mutant)) == 2


# ---------------------------------------------------------------- the generator's own checks


def test_an_event_type_without_an_entry_fails_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    events = dict(EVENTS)
    del events["KitLent"]
    events["NoSuchEvent"] = Event("nothing", "{nothing_id}", summary="Nothing.")
    monkeypatch.setattr(event_catalogue, "EVENTS", events)
    with pytest.raises(CatalogueError) as caught:
        event_catalogue.document()
    assert "KitLent (cdsp/events/v1/aid.proto) is an event type with no entry" in str(
        caught.value)
    assert "EVENTS names NoSuchEvent" in str(caught.value)


def test_a_meaning_must_come_from_the_proto_or_the_table_not_both(
        monkeypatch: pytest.MonkeyPatch) -> None:
    events = dict(EVENTS)
    events["KitLent"] = Event("kit_loan", "{loan_id}")  # no comment in aid.proto, no summary
    events["CaseActionCompleted"] = Event("aid_case", "{case_id}", summary="Twice.")
    events["PairingMade"] = Event("pairing", "{no_such_field}", summary="A pairing.")
    monkeypatch.setattr(event_catalogue, "EVENTS", events)
    with pytest.raises(CatalogueError) as caught:
        event_catalogue.document()
    said = str(caught.value)
    assert "KitLent says nowhere what it means" in said
    assert "CaseActionCompleted has a comment in cdsp/events/v1/aid.proto now" in said
    monkeypatch.setattr(event_catalogue, "EVENTS", {**EVENTS, "PairingMade": events[
        "PairingMade"]})
    with pytest.raises(CatalogueError, match="PairingMade: key field no_such_field"):
        event_catalogue.document()


# ---------------------------------------------------------------- the readable page


def test_the_page_lists_every_topic_event_type_and_guarantee(fresh: dict[str, str],
                                                             doc: dict[str, Any]) -> None:
    page = fresh["README.md"]
    assert page.count("\n# ") == 0 and page.startswith("# Event catalogue")
    for topic in doc["channels"]:
        assert f"\n### {topic}\n" in page
    for name, message in doc["components"]["messages"].items():
        assert f"\n### {name}\n" in page
        assert f"[{name}](#{name.lower()})" in page
        assert message["x-cdsp-key"] in page
    for words in ("At least once", "In order per key", "De-duplicate by event_id",
                  "Retention: every topic keeps 30 days", "Snapshots:", "Versioning",
                  "cdsp.events.v2", "Restricted topics"):
        assert words in page, words
    assert "| `person` | 1 | [`PersonSnapshot`](#personsnapshot) |" in page
