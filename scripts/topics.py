"""The platform's Kafka topics as code (deploy/kafka/topics.yaml).

    topics.py apply --bootstrap HOST:PORT [--file F] [--partitions N] [--replication N] [--dry-run]
        creates the topics that are missing and reports how existing ones differ from the file
        (partitions, replication, the configs the broker reports). It never changes an existing
        topic: a partition count change moves keys between partitions and breaks per-aggregate
        order, so that is an operator's decision, not an automatic one.
    topics.py strimzi --namespace NS [--cluster NAME] [--file F] [--partitions N] [--replication N]
        prints the same topics as Strimzi KafkaTopic objects (kafka.strimzi.io/v1beta2); the Helm
        chart renders the same objects when kafkaTopics.strimzi.enabled is set.
    --partitions/--replication override the file's numbers for every topic (a city-wide
    cluster: 12 partitions; a one-broker stack: replication 1).

Exit status: 0 when the cluster matches the file after the run, 1 when differences remain,
2 on a bad file.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILE = ROOT / "deploy" / "kafka" / "topics.yaml"
NAME = re.compile(r"^[a-zA-Z0-9._-]{1,249}$")
CLEANUP_POLICIES = {"delete", "compact", "compact,delete", "delete,compact"}


class TopicFileError(ValueError):
    pass


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication: int
    config: dict[str, str]

    def sized(self, partitions: int | None, replication: int | None) -> TopicSpec:
        """The spec for a cluster sized otherwise (the city's partitions, one broker's
        replication); min.insync.replicas is capped at the replication factor."""
        config = dict(self.config)
        replication = replication or self.replication
        if "min.insync.replicas" in config:
            config["min.insync.replicas"] = str(min(int(config["min.insync.replicas"]),
                                                    replication))
        return TopicSpec(self.name, partitions or self.partitions, replication, config)


@dataclass
class Plan:
    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    differences: dict[str, list[str]] = field(default_factory=dict)


def _positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise TopicFileError(f"{what} must be a positive integer, not {value!r}")
    return value


def load_topics(path: Path = DEFAULT_FILE) -> list[TopicSpec]:
    """Reads and checks the topics file."""
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict) or not isinstance(data.get("topics"), list):
        raise TopicFileError(f"{path}: expected a mapping with a `topics` list")
    specs: list[TopicSpec] = []
    for entry in data["topics"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise TopicFileError(f"{path}: every topic needs a name: {entry!r}")
        name = entry["name"]
        if not NAME.match(name):
            raise TopicFileError(f"{name}: not a valid topic name")
        config = entry.get("config") or {}
        if not isinstance(config, dict):
            raise TopicFileError(f"{name}: config must be a mapping")
        config = {str(k): str(v) for k, v in config.items()}
        policy = config.get("cleanup.policy")
        if policy not in CLEANUP_POLICIES:
            raise TopicFileError(f"{name}: cleanup.policy must be one of "
                                 f"{sorted(CLEANUP_POLICIES)}, not {policy!r}")
        retention = config.get("retention.ms")
        if retention is None or not re.fullmatch(r"-1|[1-9][0-9]*", retention):
            raise TopicFileError(f"{name}: retention.ms must be -1 or a positive number of ms")
        spec = TopicSpec(name, _positive_int(entry.get("partitions"), f"{name}: partitions"),
                         _positive_int(entry.get("replication"), f"{name}: replication"),
                         config)
        if int(config.get("min.insync.replicas", "1")) > spec.replication:
            raise TopicFileError(f"{name}: min.insync.replicas exceeds the replication factor")
        specs.append(spec)
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise TopicFileError(f"{path}: a topic is listed twice")
    return specs


# ---------------------------------------------------------------- apply


def _describe(admin: Any, names: list[str]) -> dict[str, tuple[int, int, dict[str, str]]]:
    """Partitions, replication and reported configs of existing topics."""
    from kafka.admin import ConfigResource, ConfigResourceType

    found: dict[str, tuple[int, int, dict[str, str]]] = {}
    if not names:
        return found
    for topic in admin.describe_topics(names):
        partitions = topic.get("partitions") or []
        replication = max((len(p.get("replica_nodes") or []) for p in partitions), default=0)
        found[topic["name"]] = (len(partitions), replication, {})
    try:
        described = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, n) for n in names])
    except Exception:  # brokers without DescribeConfigs: compare shape only
        described = None
    if isinstance(described, dict):  # kafka-python 3: {"topic": {name: {key: value}}}
        for name, configs in (described.get("topic") or {}).items():
            if name in found and isinstance(configs, dict):
                found[name][2].update({str(k): str(v) for k, v in configs.items()})
    return found


def diff(spec: TopicSpec, partitions: int, replication: int, config: dict[str, str]) -> list[str]:
    out = []
    if partitions != spec.partitions:
        out.append(f"partitions: cluster {partitions}, file {spec.partitions}")
    if replication != spec.replication:
        out.append(f"replication: cluster {replication}, file {spec.replication}")
    for key, want in sorted(spec.config.items()):
        have = config.get(key)
        if have is not None and have != want:  # only what the broker reports
            out.append(f"{key}: cluster {have}, file {want}")
    return out


def apply(bootstrap: str, specs: list[TopicSpec], dry_run: bool = False) -> Plan:
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    from runtime.kafka_clients import make_admin

    # Connects as the services do (CDSP_KAFKA_SECURITY_PROTOCOL and credentials from the env).
    admin = make_admin(bootstrap, "cdsp-topics", request_timeout_ms=10000)
    plan = Plan()
    try:
        existing = set(admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if missing and not dry_run:
            for spec in missing:  # one at a time: a racing creator only skips its own topic
                try:
                    admin.create_topics([NewTopic(spec.name, spec.partitions, spec.replication,
                                                  topic_configs=dict(spec.config))])
                except TopicAlreadyExistsError:
                    existing.add(spec.name)
                    continue
                plan.created.append(spec.name)
        elif missing:
            plan.created.extend(s.name for s in missing)
        present = [s for s in specs if s.name in existing]
        described = _describe(admin, [s.name for s in present])
        for spec in present:
            differences = diff(spec, *described.get(spec.name, (0, 0, {})))
            if differences:
                plan.differences[spec.name] = differences
            else:
                plan.unchanged.append(spec.name)
    finally:
        admin.close()
    return plan


# ---------------------------------------------------------------- strimzi


def strimzi_objects(specs: list[TopicSpec], namespace: str, cluster: str) -> list[dict[str, Any]]:
    """KafkaTopic objects; the resource name is the topic name made DNS-safe, spec.topicName
    keeps the real one."""
    return [{
        "apiVersion": "kafka.strimzi.io/v1beta2",
        "kind": "KafkaTopic",
        "metadata": {"name": re.sub(r"[^a-z0-9-]", "-", s.name.lower()),
                     "namespace": namespace,
                     "labels": {"strimzi.io/cluster": cluster,
                                "app.kubernetes.io/part-of": "cdsp"}},
        "spec": {"topicName": s.name, "partitions": s.partitions, "replicas": s.replication,
                 "config": {k: int(v) if re.fullmatch(r"-?[0-9]+", v) else v
                            for k, v in s.config.items()}},
    } for s in specs]


# ---------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    p_apply = sub.add_parser("apply", help="create missing topics, report differences")
    p_apply.add_argument("--bootstrap", required=True, help="HOST:PORT[,HOST:PORT...]")
    p_apply.add_argument("--dry-run", action="store_true", help="report, create nothing")
    p_strimzi = sub.add_parser("strimzi", help="print Strimzi KafkaTopic objects")
    p_strimzi.add_argument("--namespace", required=True)
    p_strimzi.add_argument("--cluster", default="cdsp", help="the Kafka resource's name")
    for p in (p_apply, p_strimzi):
        p.add_argument("--file", type=Path, default=DEFAULT_FILE)
        p.add_argument("--partitions", type=int, help="override the file's partition counts")
        p.add_argument("--replication", type=int,
                       help="override the file's replication factor (1 for one broker)")
    args = parser.parse_args(argv)
    for option in ("partitions", "replication"):
        if getattr(args, option) is not None and getattr(args, option) < 1:
            parser.error(f"--{option} must be at least 1")

    try:
        specs = load_topics(args.file)
    except (OSError, TopicFileError, yaml.YAMLError) as exc:
        print(f"topics: {exc}", file=sys.stderr)
        return 2
    specs = [s.sized(args.partitions, args.replication) for s in specs]
    if args.command == "strimzi":
        sys.stdout.write(yaml.safe_dump_all(strimzi_objects(specs, args.namespace, args.cluster),
                                            sort_keys=False))
        return 0
    plan = apply(args.bootstrap, specs, dry_run=args.dry_run)
    verb = "would create" if args.dry_run else "created"
    for name in plan.created:
        print(f"{verb} {name}")
    for name in plan.unchanged:
        print(f"ok      {name}")
    for name, differences in plan.differences.items():
        for line in differences:
            print(f"differs {name}: {line}")
    if not plan.created:
        print("nothing to create")
    return 1 if plan.differences or (args.dry_run and plan.created) else 0


if __name__ == "__main__":
    sys.exit(main())
