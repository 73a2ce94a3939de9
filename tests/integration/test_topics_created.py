"""`make up` creates every topic of deploy/kafka/topics.yaml before the services start: a
subscriber that starts before the first event of a topic (cdsp.notification.v1 had none until
its first notice) finds the topic, with the file's partitions."""

from __future__ import annotations

import topics
from kafka.admin import KafkaAdminClient

import devstack
from tests.helpers import SESSION_STATE


def test_every_topic_of_the_file_exists_with_its_partitions(stack: devstack.Stack) -> None:
    own = devstack.Stack(state_dir=SESSION_STATE / "topics-created", pg_port=stack.pg_port,
                         kafka_port=stack.kafka_port + 500)
    own.state_dir.mkdir(parents=True, exist_ok=True)
    devstack.start_broker(own)  # a broker of this test's own: nothing has created anything
    try:
        admin = KafkaAdminClient(bootstrap_servers=own.kafka_bootstrap)
        try:
            assert not set(admin.list_topics()) & {s.name for s in topics.load_topics()}
            created = devstack.create_topics(own)
            wanted = {spec.name: spec.partitions for spec in topics.load_topics()}
            assert sorted(created) == sorted(wanted)
            described = {t["topic"] if "topic" in t else t["name"]: len(t["partitions"])
                         for t in admin.describe_topics(sorted(wanted))}
            assert described == wanted
            assert devstack.create_topics(own) == []  # again: nothing to do, nothing changed
        finally:
            admin.close()
    finally:
        devstack.stop_broker(own)
