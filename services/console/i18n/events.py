"""Words of the event catalogue (/events): {key: (zh-CN, English)}. The English words are also
the text of docs/events/README.md and of the AsyncAPI document's descriptions
(scripts/event_catalogue.py), so the page and the documents say the same."""

MESSAGES: dict[str, tuple[str, str]] = {
    "events.title": ("事件目录", "Event catalogue"),
    "events.intro": (
        "平台各服务在 Kafka 上发布的全部事件：每个主题、它的键、事件类型及其字段，以及订阅方可以依"
        "赖的保证。由 protos/cdsp/events/v1 和 deploy/kafka/topics.yaml 生成。",
        "Every event the platform's services publish on Kafka: each topic, its key, its event "
        "types with their fields, and what a subscriber can rely on. Generated from "
        "protos/cdsp/events/v1 and deploy/kafka/topics.yaml."),
    "events.downloads": ("机器可读文档", "Machine-readable document"),
    "events.download_yaml": ("AsyncAPI 3.0 文档（YAML）", "AsyncAPI 3.0 document (YAML)"),
    "events.download_json": ("AsyncAPI 3.0 文档（JSON）", "AsyncAPI 3.0 document (JSON)"),
    "events.contents": ("本页内容", "On this page"),
    "events.record": ("记录的组成", "The record"),
    "events.record.key": (
        "键：聚合 ID（Envelope.aggregate_id），UTF-8 文本；同一聚合的所有事件因此落在同一分区。",
        "Key: the aggregate id (Envelope.aggregate_id) as UTF-8 text, so all events of one "
        "aggregate share a partition."),
    "events.record.value": (
        "值：二进制 protobuf 消息 cdsp.events.v1.Envelope（protos/cdsp/events/v1/envelope.proto）"
        "：事件 ID、类型、时间、聚合类型、ID 和版本、生产者、操作人、请求 ID、辖区路径、快照标记，"
        "以及以 google.protobuf.Any 承载的事件本身。",
        "Value: a binary protobuf cdsp.events.v1.Envelope (protos/cdsp/events/v1/envelope.proto): "
        "event id, type, time, aggregate type, id and version, producer, actor, request id, "
        "jurisdiction path, snapshot flag, and the event itself as a google.protobuf.Any."),
    "events.record.header": (
        "记录头：event_type，事件的 protobuf 全名（与 Envelope.event_type 相同），"
        "无需解析即可筛选。",
        "Header: event_type, the event's full protobuf name (as Envelope.event_type), to filter "
        "without parsing."),
    "events.record.schemas": (
        "文档中的模式按 protobuf 的 JSON 形式描述 Envelope 和各事件，字段名与 .proto 相同；64 位整"
        "数写作数字（protobuf 的 JSON 写作字符串），枚举写作名称，时间写作 RFC 3339 文本。所有字段"
        "都是可选的（proto3）：未设置的字段取零值。",
        "The schemas describe the Envelope and each event in protobuf's JSON form with the "
        ".proto's field names; 64-bit integers are shown as numbers (protobuf's JSON writes them "
        "as strings), enums by their names, timestamps as RFC 3339 text. Every field is optional "
        "(proto3): an unset field has its zero value."),
    "events.guarantees": ("投递保证", "Delivery guarantees"),
    "events.g.at_least_once": (
        "至少一次：事件与产生它的变更在同一事务中写入服务的发件箱（outbox），由中继发布，直到代理"
        "确认（acks=all，幂等生产者）。事件可能到达不止一次；变更一旦提交，事件不会丢失。",
        "At least once: each event is written to its service's outbox in the transaction that "
        "made the change, and the relay publishes it until the broker acknowledges it (acks=all, "
        "an idempotent producer). An event may arrive more than once; none is lost once its "
        "change committed."),
    "events.g.order": (
        "按键有序：记录的键是聚合 ID，同一聚合的事件都在同一分区，按发生顺序到达。不同聚合、分区或"
        "主题之间没有顺序：关于某人的救助事件可能早于登记此人的户籍事件到达。",
        "In order per key: the record key is the aggregate id, so the events of one aggregate "
        "land on one partition and arrive in the order they were made. There is no order across "
        "aggregates, partitions or topics: an aid event about a person may arrive before the "
        "registry's event that registered them."),
    "events.g.dedupe": (
        "按 event_id 去重：记住已处理的事件 ID（平台的消费者在处理事件的同一事务中记录，保留 35 天"
        "），再次收到时跳过。",
        "De-duplicate by event_id: remember the event ids applied (the platform's consumers "
        "record them in the transaction that applies the event and keep them 35 days) and skip "
        "one seen before."),
    "events.g.versions": (
        "版本：aggregate_version 是变更后聚合的版本；丢弃比已有版本旧的事件，迟到或重放的事件就不"
        "会覆盖较新的状态。",
        "Versions: aggregate_version is the aggregate's version after the change; discard an "
        "event older than the version you hold, so a late or replayed event cannot undo a newer "
        "one."),
    "events.g.retention": (
        "保留期：每个主题保留 30 天（cleanup.policy 为 delete：事件是事实，不是某个键的最新状态）"
        "；cdsp.registry.contacts.v1 另行压缩，保留 7 天。落后更多的消费者通过快照重建。",
        "Retention: every topic keeps 30 days (cleanup.policy delete: events are facts, not the "
        "latest state of a key); cdsp.registry.contacts.v1 is also compacted and kept 7 days. A "
        "consumer further behind rebuilds from snapshots."),
    "events.g.snapshots": (
        "快照：python -m runtime.snapshot_cli <服务> 重新发布该服务各聚合的当前状态，设置 "
        "Envelope.snapshot 并带当前版本。像其他事件一样按版本应用快照；不要因快照采取行动（不发通"
        "知、不升级）。",
        "Snapshots: python -m runtime.snapshot_cli <service> re-publishes the current state of a "
        "service's aggregates with Envelope.snapshot set and the current version. Apply a "
        "snapshot like any event, by version; never act on one (send no notice, raise nothing)."),
    "events.g.unknown": (
        "未知的事件类型和字段：跳过。同一版本内会不另行通知地增加新的事件类型、字段和枚举值。",
        "Unknown event types and fields: skip them. New event types, fields and enum values are "
        "added within a version without notice."),
    "events.versioning": ("版本规则", "Versioning"),
    "events.versioning.text": (
        "cdsp.events.v1 内只做兼容的变更：新字段（新编号）、新事件类型、新枚举值。字段从不改编号、"
        "改类型或改名，删除的字段保留其编号和名称。不兼容的变更需要新的包版本（cdsp.events.v2，发"
        "布在新主题 cdsp.<服务>.v2 上），与 v1 并行发布，直到所有消费者迁移完毕；否则 protobuf 兼"
        "容性检查（scripts/proto_compat.py）不予通过。",
        "Within cdsp.events.v1 only compatible changes are made: new fields with new numbers, new "
        "event types, new enum values. A field is never renumbered, retyped or renamed, and a "
        "removed field's number and name stay reserved. A breaking change needs a new package "
        "version (cdsp.events.v2, on new topics cdsp.<service>.v2), published beside v1 until "
        "every consumer has moved; the protobuf compatibility check (scripts/proto_compat.py) "
        "fails the build otherwise."),
    "events.restricted": ("受限主题", "Restricted topics"),
    "events.restricted.text": (
        "以下两个主题并非对所有订阅方开放；谁可以读取由 Helm chart 的 Kafka ACL 决定：",
        "Two topics are not for every subscriber; the Helm chart's Kafka ACLs decide who may read "
        "them:"),
    "events.restricted_badge": ("受限", "Restricted"),
    "events.operation": (
        "使用自己的消费者组消费，处理后再提交偏移量；按 event_id 去重，按 aggregate_version 应用，"
        "跳过未知的事件类型。",
        "Consume with a consumer group of your own and commit offsets after processing; "
        "de-duplicate by event_id, apply by aggregate_version, skip unknown event types."),
    "events.topics": ("主题", "Topics"),
    "events.topic_caption": ("{topic} 上的事件类型", "Event types on {topic}"),
    "events.partitions": ("分区数", "Partitions"),
    "events.replication": ("副本数", "Replication"),
    "events.cleanup": ("清理策略", "Cleanup policy"),
    "events.retention": ("保留期", "Retention"),
    "events.min_insync": ("最少同步副本", "Minimum in-sync replicas"),
    "events.producer": ("生产者", "Producer"),
    "events.days": ("{days} 天", "{days} days"),
    "events.forever": ("不限", "Unlimited"),
    "events.ms": ("{ms} 毫秒", "{ms} ms"),
    "events.col.event": ("事件类型", "Event type"),
    "events.col.key": ("键", "Key"),
    "events.col.aggregate": ("聚合类型", "Aggregate type"),
    "events.col.snapshot": ("Envelope.snapshot", "Envelope.snapshot"),
    "events.col.meaning": ("含义", "What it means"),
    "events.col.field": ("字段", "Field"),
    "events.col.number": ("编号", "Number"),
    "events.col.type": ("类型", "Type"),
    "events.col.description": ("说明", "Description"),
    "events.col.value": ("取值", "Value"),
    "events.snapshot.never": ("false（只表示变更）", "false (a change only)"),
    "events.snapshot.also": (
        "true 或 false（变更，也作快照）",
        "true or false (a change, or a snapshot)"),
    "events.snapshot.only": ("true（只作快照）", "true (a snapshot only)"),
    "events.event_types": ("事件类型", "Event types"),
    "events.full_name": ("全名", "Full name"),
    "events.published_on": ("发布主题", "Published on"),
    "events.fields_caption": ("{name} 的字段", "Fields of {name}"),
    "events.values_caption": ("{name} 的取值", "Values of {name}"),
    "events.no_fields": ("没有字段。", "No fields."),
    "events.shared": ("共用类型", "Shared types"),
}
