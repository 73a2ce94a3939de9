"""Kafka ACLs per service principal (helm/cdsp, kafkaUsers.strimzi): one Strimzi KafkaUser per
service, rendered offline like the chart's other manifests, checked against a strict schema of
the KafkaUser resource, and compared with what each service's code really does: the topics and
groups of the consumers its main.py builds and the topics it writes (its own, if its code records
events in the outbox at all, and ServiceDefinition.extra_topics). An ACL cannot drift from what
the service reads. The partner gateway's per-subscriber topics and its subscribers' own users
(partnerSubscribers) are compared with the gateway's own naming of those topics."""

from __future__ import annotations

import base64
import copy
import importlib
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python
import jsonschema
import pytest
from helm_python.chart import Chart

from partner.domain.subscription import topic_of
from runtime.audit import AUDIT_TOPIC
from runtime.db import Database
from runtime.server import Runtime
from runtime.settings import load_settings
from tests.deploy.test_helm_chart import (
    CHART,
    KUBE_VERSIONS,
    NAMESPACE,
    RELEASE,
    REQUIRED,
    SERVICES,
    VALUE_SETS,
    Doc,
    get,
    merged,
    problems_env,
    render,
    schema_problems,
    values_file,
)

CONTACTS = "cdsp.registry.contacts.v1"
SERVICES_DIR = Path(__file__).resolve().parents[2] / "services"
# What puts an event in the outbox for the service's own topic: a unit of work's record(), or a
# consumer deferring an event (runtime.pending: an expired one is recorded as
# PendingEventExpired).
RECORDS = re.compile(r"\.record\(|pending\.wait_for\(")
SUBSCRIBERS = [{"code": "charity-a"},
               {"code": "insurer-b", "user": "insurer-b-kafka", "groups": ["ins-1", "ins-2"]}]
USERS = {"kafka": {"securityProtocol": "SASL_SSL", "saslMechanism": "SCRAM-SHA-512",
                   "credentials": {"secretName": ""}},
         "kafkaUsers": {"strimzi": {"enabled": True, "cluster": "city"}}}


@dataclass(frozen=True)
class Access:
    writes: frozenset[str]
    reads: frozenset[str]
    groups: frozenset[str]


def from_code(service: str, monkeypatch: pytest.MonkeyPatch) -> Access:
    """What the service does on Kafka, from its own wiring: the consumers its main.py builds
    (built, never started: nothing connects) and the topics it writes."""
    monkeypatch.setenv("CDSP_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/nothing")
    # The partner gateway's use cases need its sealing key to be built (never used here).
    monkeypatch.setenv("CDSP_PARTNER_KEYS", f"t1:{base64.b64encode(bytes(32)).decode()}")
    definition = importlib.import_module(f"{service}.entrypoints.main").DEFINITION
    settings = load_settings(definition.name, definition.grpc_port, definition.metrics_port)
    db = Database(settings.database_url, definition.name)
    consumers = definition.consumers(Runtime(settings, db))
    snapshots = (importlib.import_module(f"{service}.snapshots").SOURCES
                 if importlib.util.find_spec(f"{service}.snapshots") else [])
    writes = {AUDIT_TOPIC, *definition.extra_topics}  # the runtime writes the audit
    if snapshots or records_events(service):
        writes.add(db.topic)
    assert {s.topic for s in snapshots if s.topic} <= writes, "a snapshot writes elsewhere"
    return Access(frozenset(writes), frozenset(t for c in consumers for t in c.topics),
                  frozenset(c.group_id for c in consumers))


def records_events(service: str) -> bool:
    """Whether the service's own code puts events in the outbox (for its topic cdsp.<name>.v1)."""
    return any(RECORDS.search(path.read_text())
               for path in (SERVICES_DIR / service).rglob("*.py"))


def test_which_services_publish_on_a_topic_of_their_own() -> None:
    """The partner gateway records no event (it delivers from its own deliveries table): no
    cdsp.partner.v1 ACL, no such topic in deploy/kafka/topics.yaml. The five others do."""
    assert {svc for svc in SERVICES if records_events(svc)} == set(SERVICES) - {"partner"}
    assert RECORDS.search("uow.record(payload, aggregate_type=...)")
    assert RECORDS.search("pending.wait_for(keys)") and not RECORDS.search("asyncio.wait_for(x)")


def from_acls(user: Doc) -> Access:
    acls = user["spec"]["authorization"]["acls"]
    def names(kind: str, operations: list[str]) -> frozenset[str]:
        return frozenset(a["resource"]["name"] for a in acls
                         if a["resource"]["type"] == kind and a["operations"] == operations)
    return Access(names("topic", ["Describe", "Write"]), names("topic", ["Describe", "Read"]),
                  names("group", ["Read"]))


def acl_problems(user: Doc) -> list[str]:
    """What is wider than a literal allow of the three shapes the chart grants."""
    found = []
    for acl in user["spec"]["authorization"]["acls"]:
        resource, operations = acl["resource"], acl["operations"]
        shape = (resource["type"], operations)
        if shape not in (("topic", ["Describe", "Write"]), ("topic", ["Describe", "Read"]),
                         ("group", ["Read"])):
            found.append(f"{user['metadata']['name']}: {shape}")
        if resource.get("patternType", "literal") != "literal" or "*" in resource["name"]:
            found.append(f"{user['metadata']['name']}: {resource} is not one literal name")
        if acl.get("type", "allow") != "allow" or acl.get("host", "*") != "*":
            found.append(f"{user['metadata']['name']}: {acl}")
    return found


# The KafkaUser resource (kafka.strimzi.io/v1beta2) as the chart may write it, strictly: the
# fields and enums of Strimzi's CRD for what the chart uses; anything else is an error, as the
# API server's strict field validation would make it.
_STR = {"type": "string"}
KAFKA_USER_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "kafka.strimzi.io/v1beta2"}, "kind": {"const": "KafkaUser"},
        "metadata": {"type": "object", "additionalProperties": False,
                     "required": ["name", "namespace", "labels"],
                     "properties": {"name": {"type": "string",
                                             "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
                                    "namespace": _STR,
                                    "labels": {"type": "object", "required": ["strimzi.io/cluster"],
                                               "additionalProperties": _STR}}},
        "spec": {"type": "object", "additionalProperties": False,
                 "required": ["authentication", "authorization"], "properties": {
            "authentication": {"type": "object", "additionalProperties": False,
                               "required": ["type"], "properties": {
                "type": {"enum": ["tls", "tls-external", "scram-sha-512"]}}},
            "authorization": {"type": "object", "additionalProperties": False,
                              "required": ["type", "acls"], "properties": {
                "type": {"enum": ["simple"]},
                "acls": {"type": "array", "items": {
                    "type": "object", "additionalProperties": False,
                    "required": ["resource", "operations"], "properties": {
                        "type": {"enum": ["allow", "deny"]}, "host": _STR,
                        "resource": {"type": "object", "additionalProperties": False,
                                     "required": ["type"], "properties": {
                            "type": {"enum": ["topic", "group", "cluster", "transactionalId"]},
                            "name": _STR, "patternType": {"enum": ["literal", "prefix"]}}},
                        "operations": {"type": "array", "minItems": 1, "items": {"enum": [
                            "Read", "Write", "Create", "Delete", "Alter", "Describe",
                            "ClusterAction", "AlterConfigs", "DescribeConfigs",
                            "IdempotentWrite", "All"]}}}}}}}}},
    },
}


def users(docs: list[Doc]) -> dict[str, Doc]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == "KafkaUser"}


def service_users(found: dict[str, Doc]) -> dict[str, Doc]:
    """The services' users among `found` (users()), not the partner subscribers'."""
    return {name: d for name, d in found.items()
            if d["metadata"]["labels"]["app.kubernetes.io/component"] != "partner-subscriber"}


def test_off_by_default() -> None:
    for values in VALUE_SETS.values():
        assert users(render(values)) == {}


@pytest.mark.parametrize("values_name", VALUE_SETS)
def test_each_service_may_do_what_its_code_does_and_nothing_more(
        values_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = render(merged(VALUE_SETS[values_name], USERS))
    found = users(docs)
    assert set(found) == {f"{RELEASE}-{svc}" for svc in SERVICES}
    for svc in SERVICES:
        user = found[f"{RELEASE}-{svc}"]
        jsonschema.validate(user, KAFKA_USER_SCHEMA)
        assert user["metadata"]["labels"]["strimzi.io/cluster"] == "city"
        assert user["metadata"]["namespace"] == NAMESPACE
        assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
        assert acl_problems(user) == []
        assert from_acls(user) == from_code(svc, monkeypatch), svc
        assert len(user["spec"]["authorization"]["acls"]) == sum(
            len(part) for part in vars(from_acls(user)).values())


def test_only_notification_reads_the_contacts(monkeypatch: pytest.MonkeyPatch) -> None:
    readers = {svc for svc in SERVICES if CONTACTS in from_code(svc, monkeypatch).reads}
    writers = {svc for svc in SERVICES if CONTACTS in from_code(svc, monkeypatch).writes}
    assert (readers, writers) == ({"notification"}, {"registry"})
    found = users(render(merged(USERS, {"partnerSubscribers": SUBSCRIBERS})))
    assert {name for name, user in found.items() if CONTACTS in from_acls(user).reads} == {
        f"{RELEASE}-notification"}
    assert {svc for svc in SERVICES
            if CONTACTS in from_acls(found[f"{RELEASE}-{svc}"]).reads} == {"notification"}


def test_each_service_connects_as_its_own_user() -> None:
    docs = render(USERS)
    for svc in SERVICES:
        env = {e["name"]: e for e in get(docs, "Deployment", f"{RELEASE}-{svc}")
               ["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["CDSP_KAFKA_USERNAME"]["value"] == f"{RELEASE}-{svc}"
        assert env["CDSP_KAFKA_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
            "name": f"{RELEASE}-{svc}", "key": "password"}
        assert env["CDSP_KAFKA_SASL_MECHANISM"]["value"] == "SCRAM-SHA-512"
        assert problems_env(list(env.values()), svc) == []


@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_the_other_manifests_still_satisfy_the_kubernetes_api_schemas(version: str) -> None:
    assert schema_problems(render(merged(VALUE_SETS["city"], USERS)), version) == []


def test_a_sixth_service_writes_its_own_topic_and_reads_what_its_entry_says() -> None:
    services = [*values_file("values.yaml")["services"],
                {"name": "housing", "grpcPort": 50056, "metricsPort": 9106,
                 "audience": "cdsp-housing",
                 "kafka": {"reads": ["cdsp.registry.v1"], "groups": ["housing-registry"]}}]
    user = users(render(merged(USERS, {"services": services})))[f"{RELEASE}-housing"]
    jsonschema.validate(user, KAFKA_USER_SCHEMA)
    assert from_acls(user) == Access(frozenset({"cdsp.housing.v1", AUDIT_TOPIC}),
                                     frozenset({"cdsp.registry.v1"}),
                                     frozenset({"housing-registry"}))


DRIFTS = [
    ("notification no longer reads contacts", "notification", "reads",
     ["cdsp.registry.v1", "cdsp.aid.v1", "cdsp.employment.v1", "cdsp.volunteer.v1"]),
    ("aid reads the contacts", "aid", "reads", ["cdsp.registry.v1", CONTACTS]),
    ("a group renamed", "volunteer", "groups", ["volunteer-registry", "volunteer-aid-warnings"]),
    ("registry no longer writes contacts", "registry", "extraWrites", []),
    ("the partner gateway given a topic of its own", "partner", "ownTopic", True),
    ("the partner gateway reads the contacts", "partner", "reads",
     ["cdsp.registry.v1", CONTACTS, "cdsp.aid.v1", "cdsp.employment.v1"]),
    ("a partner group renamed", "partner", "groups",
     ["partner-registry", "partner-aid", "partner-jobs"]),
]


@pytest.mark.parametrize(("what", "svc", "key", "value"), DRIFTS, ids=[d[0] for d in DRIFTS])
def test_the_comparison_catches_values_that_drift_from_the_code(
        what: str, svc: str, key: str, value: list[str] | bool,
        monkeypatch: pytest.MonkeyPatch) -> None:
    services = copy.deepcopy(values_file("values.yaml")["services"])
    next(e for e in services if e["name"] == svc)["kafka"][key] = value
    user = users(render(merged(USERS, {"services": services})))[f"{RELEASE}-{svc}"]
    assert from_acls(user) != from_code(svc, monkeypatch), what


@pytest.mark.parametrize("mutate", [
    lambda u: u["spec"]["authorization"]["acls"][0]["resource"].update(patternType="prefix"),
    lambda u: u["spec"]["authorization"]["acls"][0]["resource"].update(name="*"),
    lambda u: u["spec"]["authorization"]["acls"][0].update(operations=["All"]),
    lambda u: u["spec"]["authorization"]["acls"][0]["resource"].update(type="cluster"),
    lambda u: u["spec"]["authorization"]["acls"][0].update(host="10.0.0.1"),
], ids=["prefix", "wildcard", "all", "cluster", "host"])
def test_the_acl_check_catches_a_wider_grant(mutate: Any) -> None:
    user = copy.deepcopy(users(render(USERS))[f"{RELEASE}-aid"])
    assert acl_problems(user) == []
    mutate(user)
    assert acl_problems(user) != []


@pytest.mark.parametrize("mutate", [
    lambda u: u["spec"]["authorization"].update(acl=[]),
    lambda u: u["spec"]["authorization"]["acls"][0].update(operation="Read"),
    lambda u: u["spec"]["authentication"].update(type="scram-sha-256"),
    lambda u: u["spec"]["authorization"]["acls"][0]["resource"].update(type="topics"),
    lambda u: u["metadata"]["labels"].pop("strimzi.io/cluster"),
], ids=["acl", "operation", "sha-256", "topics", "cluster label"])
def test_the_schema_catches_a_misspelt_or_unknown_field(mutate: Any) -> None:
    user = copy.deepcopy(users(render(USERS))[f"{RELEASE}-registry"])
    jsonschema.validate(user, KAFKA_USER_SCHEMA)
    mutate(user)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(user, KAFKA_USER_SCHEMA)


@pytest.mark.parametrize(("values", "message"), [
    ({"kafkaUsers": {"strimzi": {"enabled": True, "cluster": "c"}}},
     "must be SASL_SSL or SASL_PLAINTEXT"),
    (merged(USERS, {"kafka": {"saslMechanism": "SCRAM-SHA-256"}}), "are SCRAM-SHA-512"),
    (merged(USERS, {"kafka": {"credentials": {"secretName": "shared"}}}),
     "remove kafka.credentials.secretName"),
    (merged(USERS, {"kafkaUsers": {"strimzi": {"cluster": ""}}}), "cluster"),
    (merged(USERS, {"services": [{"name": "aid", "grpcPort": 1, "metricsPort": 2,
                                  "kafka": {"reads": ["cdsp.*"]}}]}), "/services/0/kafka"),
    (merged(USERS, {"services": [{"name": "aid", "grpcPort": 1, "metricsPort": 2,
                                  "kafka": {"read": ["cdsp.aid.v1"]}}]}),
     "additional properties 'read' not allowed"),
])
def test_values_that_cannot_work_are_refused(values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm_python.HelmError, match=message.replace("*", r"\*")):
        Chart.load(str(CHART)).render(merged(REQUIRED, values), name=RELEASE,
                                      namespace=NAMESPACE)


def _subscriber_users(found: dict[str, Doc]) -> dict[str, Doc]:
    return {name: user for name, user in found.items() if name not in service_users(found)}


@pytest.mark.parametrize("values_name", VALUE_SETS)
def test_the_gateway_writes_each_kafka_subscriber_s_topic_that_subscriber_alone_reads(
        values_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    found = users(render(merged(VALUE_SETS[values_name], USERS,
                                {"partnerSubscribers": SUBSCRIBERS})))
    # The topics as the gateway names them (partner.domain.subscription.topic_of).
    topics = {s["code"]: topic_of(s["code"]) for s in SUBSCRIBERS}
    gateway, code = found[f"{RELEASE}-partner"], from_code("partner", monkeypatch)
    assert acl_problems(gateway) == []  # literal Write, no Create, no prefix
    assert from_acls(gateway) == Access(code.writes | frozenset(topics.values()), code.reads,
                                        code.groups)
    assert set(service_users(found)) == {f"{RELEASE}-{svc}" for svc in SERVICES}
    expected = {"partner-charity-a": (topics["charity-a"], {"partner-charity-a"}),
                "insurer-b-kafka": (topics["insurer-b"], {"ins-1", "ins-2"})}
    subscribers = _subscriber_users(found)
    assert set(subscribers) == set(expected)
    for name, (topic, groups) in expected.items():
        user = subscribers[name]
        jsonschema.validate(user, KAFKA_USER_SCHEMA)
        assert user["metadata"]["labels"]["strimzi.io/cluster"] == "city"
        assert user["metadata"]["namespace"] == NAMESPACE
        assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
        assert acl_problems(user) == []
        assert from_acls(user) == Access(frozenset(), frozenset({topic}), frozenset(groups))
        assert len(user["spec"]["authorization"]["acls"]) == 1 + len(groups)
    for topic in topics.values():  # one reader, one writer per subscriber topic
        assert [n for n, u in found.items() if topic in from_acls(u).reads] == [
            n for n, (t, _) in expected.items() if t == topic]
        assert [n for n, u in found.items() if topic in from_acls(u).writes] == [
            f"{RELEASE}-partner"]
    # Without Strimzi's users, no KafkaUser at all (the gateway creates the topics itself).
    assert users(render({"partnerSubscribers": SUBSCRIBERS})) == {}


@pytest.mark.parametrize(("subscribers", "message"), [
    ([{"code": "charity-a"}, {"code": "charity-a", "user": "other"}],
     'code "charity-a" is listed twice'),
    ([{"code": "charity-a"}, {"code": "charity-b", "user": "partner-charity-a"}],
     'user "partner-charity-a" is listed twice'),
    ([{"code": "charity-a", "user": f"{RELEASE}-aid"}], "is the Kafka user of service aid"),
    ([{"code": "Charity_A"}], "/partnerSubscribers/0/code"),
    ([{"code": "charity-a", "groups": []}], "/partnerSubscribers/0/groups"),
    ([{"code": "charity-a", "topic": "cdsp.registry.v1"}],
     "additional properties 'topic' not allowed"),
])
def test_partner_subscribers_that_cannot_work_are_refused(subscribers: list[dict[str, Any]],
                                                          message: str) -> None:
    with pytest.raises(helm_python.HelmError, match=re.escape(message)):
        Chart.load(str(CHART)).render(merged(REQUIRED, USERS,
                                             {"partnerSubscribers": subscribers}),
                                      name=RELEASE, namespace=NAMESPACE)


def test_partner_subscribers_need_the_gateway() -> None:
    services = [e for e in values_file("values.yaml")["services"] if e["name"] != "partner"]
    with pytest.raises(helm_python.HelmError, match="needs the partner gateway"):
        Chart.load(str(CHART)).render(
            merged(REQUIRED, {"services": services, "partnerSubscribers": SUBSCRIBERS}),
            name=RELEASE, namespace=NAMESPACE)
    # Without subscribers the chart deploys without the gateway, as before it existed.
    assert f"{RELEASE}-partner" not in users(render(merged(USERS, {"services": services})))
