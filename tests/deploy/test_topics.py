"""Kafka topics as code: deploy/kafka/topics.yaml, its Strimzi rendering, and `apply` against
the session's real broker."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import topics
import yaml
from kafka.admin import KafkaAdminClient
from topics import TopicFileError, TopicSpec, load_topics

import devstack
from tests.deploy.test_kafka_acls import records_events

ROOT = Path(__file__).resolve().parents[2]
DNS_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DAY_MS = 24 * 3600 * 1000


def service_default_partitions() -> int:
    """The partition count a service uses when it creates a missing topic itself."""
    source = (ROOT / "services" / "runtime" / "settings.py").read_text()
    match = re.search(r'env_int\("CDSP_TOPIC_PARTITIONS", (\d+)', source)
    assert match, "runtime/settings.py no longer reads CDSP_TOPIC_PARTITIONS"
    return int(match.group(1))


CONTACTS = "cdsp.registry.contacts.v1"
PARTNER_SUBSCRIBER = re.compile(r"cdsp\.partner\.<code>\.v1")


def publishing_services() -> list[str]:
    """The services whose code puts events in the outbox for their own topic cdsp.<name>.v1:
    all but the partner gateway, which delivers from its own table to its subscribers' topics."""
    return [s for s in devstack.SERVICES if records_events(s)]


def test_every_service_topic_is_declared_with_sane_settings() -> None:
    specs = load_topics()
    assert sorted(s.name for s in specs) == sorted(
        [*(f"cdsp.{s}.v1" for s in publishing_services()), "cdsp.audit.v1", CONTACTS])
    assert "partner" in devstack.SERVICES and "partner" not in publishing_services()
    for spec in specs:
        # Same count as a self-created topic: otherwise keys map to other partitions depending
        # on who created the topic first.
        assert spec.partitions == service_default_partitions(), spec
        assert spec.replication >= 1, spec
        retention = int(spec.config["retention.ms"])
        if spec.name == CONTACTS:
            # State (the newest contact of each person), not facts: superseded and erased
            # contacts leave the log by compaction, and it keeps a week.
            assert spec.config["cleanup.policy"] == "compact,delete", spec
            assert retention == 7 * DAY_MS, spec
        else:
            assert spec.config["cleanup.policy"] == "delete", spec  # events are facts
            assert 7 * DAY_MS <= retention <= 365 * DAY_MS, spec
        assert 1 <= int(spec.config.get("min.insync.replicas", "1")) <= spec.replication, spec


@pytest.mark.parametrize("bad", [
    "topics: [{name: a.b, partitions: 0, replication: 1,"
    " config: {cleanup.policy: delete, retention.ms: 1000}}]",
    "topics: [{name: a.b, partitions: 3, replication: 1,"
    " config: {cleanup.policy: shred, retention.ms: 1000}}]",
    "topics: [{name: a.b, partitions: 3, replication: 1, config: {cleanup.policy: delete}}]",
    "topics: [{name: 'a b', partitions: 3, replication: 1,"
    " config: {cleanup.policy: delete, retention.ms: 1000}}]",
    "topics: [{name: a.b, partitions: 3, replication: 1,"
    " config: {cleanup.policy: delete, retention.ms: 1000, min.insync.replicas: 2}}]",
    "topics: [{name: a.b, partitions: 3, replication: 1,"
    " config: {cleanup.policy: delete, retention.ms: 1000}},"
    " {name: a.b, partitions: 3, replication: 1,"
    " config: {cleanup.policy: delete, retention.ms: 1000}}]",
    "nothing: here",
])
def test_a_bad_file_is_rejected(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "topics.yaml"
    path.write_text(bad)
    with pytest.raises(TopicFileError):
        load_topics(path)


def test_sizing_overrides_cap_min_insync_replicas() -> None:
    spec = TopicSpec("a.b", 6, 3, {"cleanup.policy": "delete", "retention.ms": "1",
                                   "min.insync.replicas": "2"})
    single = spec.sized(None, 1)
    assert (single.partitions, single.replication, single.config["min.insync.replicas"]) == (
        6, 1, "1")
    city = spec.sized(12, None)
    assert (city.partitions, city.replication, city.config) == (12, 3, spec.config)
    assert spec.sized(None, None) == spec


def test_strimzi_output_takes_the_sizing_overrides(capsys: pytest.CaptureFixture[str]) -> None:
    assert topics.main(["strimzi", "--namespace", "ns", "--partitions", "12",
                        "--replication", "1"]) == 0
    docs = [d for d in yaml.safe_load_all(capsys.readouterr().out) if d is not None]
    assert {(d["spec"]["partitions"], d["spec"]["replicas"],
             d["spec"]["config"]["min.insync.replicas"]) for d in docs} == {(12, 1, 1)}
    with pytest.raises(SystemExit):
        topics.main(["strimzi", "--namespace", "ns", "--partitions", "0"])


def test_strimzi_output_is_kafkatopic_objects(capsys: pytest.CaptureFixture[str]) -> None:
    assert topics.main(["strimzi", "--namespace", "cdsp-pilot", "--cluster", "pilot"]) == 0
    docs = [d for d in yaml.safe_load_all(capsys.readouterr().out) if d is not None]
    specs = {s.name: s for s in load_topics()}
    assert len(docs) == len(specs)
    seen = set()
    for doc in docs:
        assert doc["apiVersion"] == "kafka.strimzi.io/v1beta2"
        assert doc["kind"] == "KafkaTopic"
        meta = doc["metadata"]
        assert DNS_1123.match(meta["name"]), meta["name"]
        assert meta["namespace"] == "cdsp-pilot"
        assert meta["labels"]["strimzi.io/cluster"] == "pilot"
        spec = specs[doc["spec"]["topicName"]]
        seen.add(spec.name)
        assert doc["spec"]["partitions"] == spec.partitions
        assert doc["spec"]["replicas"] == spec.replication
        assert {k: str(v) for k, v in doc["spec"]["config"].items()} == spec.config
        assert isinstance(doc["spec"]["config"]["retention.ms"], int)
    assert seen == set(specs)


def test_the_script_runs_from_the_command_line() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "topics.py"), "strimzi",
                          "--namespace", "ns"], capture_output=True, text=True, check=True,
                         cwd=ROOT, timeout=60).stdout
    assert [d["kind"] for d in yaml.safe_load_all(out)] == ["KafkaTopic"] * len(load_topics())
    bad = subprocess.run([sys.executable, str(ROOT / "scripts" / "topics.py"), "strimzi",
                          "--namespace", "ns", "--file", str(ROOT / "missing.yaml")],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert bad.returncode == 2


def _broker_topics(bootstrap: str) -> dict[str, int]:
    admin = KafkaAdminClient(bootstrap_servers=[bootstrap], request_timeout_ms=10000)
    try:
        names = admin.list_topics()
        return {t["name"]: len(t["partitions"]) for t in admin.describe_topics(names)}
    finally:
        admin.close()


def test_apply_creates_missing_topics_and_is_idempotent(stack: devstack.Stack,
                                                        tmp_path: Path) -> None:
    # Names of this test's own, so the topics are certainly missing at first (the services
    # create the real ones themselves when they start).
    suffix = uuid.uuid4().hex[:8]
    data = yaml.safe_load((ROOT / "deploy" / "kafka" / "topics.yaml").read_text())
    for entry in data["topics"]:
        entry["name"] = f"{entry['name']}.t{suffix}"
    path = tmp_path / "topics.yaml"
    path.write_text(yaml.safe_dump(data))
    specs = [s.sized(None, 1) for s in load_topics(path)]
    wanted = {s.name for s in specs}
    assert not wanted & set(_broker_topics(stack.kafka_bootstrap))

    first = topics.apply(stack.kafka_bootstrap, specs)
    assert sorted(first.created) == sorted(wanted)
    on_broker = _broker_topics(stack.kafka_bootstrap)
    assert {name: on_broker.get(name) for name in wanted} == {s.name: s.partitions
                                                              for s in specs}

    second = topics.apply(stack.kafka_bootstrap, specs)
    assert second.created == []
    assert second.differences == {}
    assert sorted(second.unchanged) == sorted(wanted)


def test_apply_reports_a_partition_difference(stack: devstack.Stack, tmp_path: Path) -> None:
    name = f"cdsp.drift.t{uuid.uuid4().hex[:8]}"
    spec = TopicSpec(name, 2, 1, {"cleanup.policy": "delete", "retention.ms": "86400000"})
    assert topics.apply(stack.kafka_bootstrap, [spec]).created == [name]
    drifted = TopicSpec(name, 6, 1, spec.config)
    plan = topics.apply(stack.kafka_bootstrap, [drifted])
    assert plan.created == []
    assert plan.differences == {name: ["partitions: cluster 2, file 6"]}


def test_apply_cli_on_the_real_topics(stack: devstack.Stack,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["apply", "--bootstrap", stack.kafka_bootstrap, "--replication", "1"]
    assert topics.main(argv) == 0
    capsys.readouterr()
    assert {f"cdsp.{s}.v1" for s in publishing_services()} <= set(
        _broker_topics(stack.kafka_bootstrap))
    assert topics.main(argv) == 0
    out = capsys.readouterr().out
    assert "nothing to create" in out
    assert "created" not in out
    assert "differs" not in out


def test_the_partner_subscribers_topics_are_documented_with_their_settings(
        tmp_path: Path) -> None:
    """Not listed as topics (subscribers come and go): the file says who creates
    cdsp.partner.<code>.v1, and its partnerSubscriberTopic (the chart's KafkaTopic per
    subscriber) passes every check a listed topic passes."""
    text = (ROOT / "deploy" / "kafka" / "topics.yaml").read_text()
    assert PARTNER_SUBSCRIBER.search(text)
    assert "creates a subscriber's topic" in text and "partnerSubscribers" in text
    template = yaml.safe_load(text)["partnerSubscriberTopic"]
    path = tmp_path / "topics.yaml"
    path.write_text(yaml.safe_dump({"topics": [{"name": "cdsp.partner.charity-a.v1",
                                                **template}]}))
    [spec] = load_topics(path)
    assert spec.partitions == service_default_partitions()
    assert spec.config["cleanup.policy"] == "delete"
    assert 7 * DAY_MS <= int(spec.config["retention.ms"]) <= 365 * DAY_MS
    assert 1 <= int(spec.config["min.insync.replicas"]) <= spec.replication

