"""A subscription as an administrator registers it, checked field by field: every refusal is an
InvalidArgument naming `subscriber.<field>` (all bad fields at once); a subtree outside the
administrator's jurisdictions is PERMISSION_DENIED.

    code               [a-z0-9-]{3,32}, unique (ALREADY_EXISTS): it names the Kafka topic
    name, purpose      required, at most 200 and 2000 characters
    event_types        at least one, each a cdsp.partner.v1 payload type (short or full name)
    jurisdiction_path  a path inside the caller's jurisdictions
    fields             "Type.field" of a payload type among event_types
    delivery           webhook: url https to a public address (runtime.webhook_urls);
                       kafka: principal required; the topic is cdsp.partner.<code>.v1
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from cdsp.partner.v1 import partner_pb2 as pb
from partner.domain.catalogue import PAYLOADS, field_exists, full
from runtime.auth import Caller, is_valid_path
from runtime.errors import Violations
from runtime.webhook_urls import Network, WebhookUrlError, check_webhook_url

CODE = re.compile(r"^[a-z0-9-]{3,32}$")
PRINCIPAL = re.compile(r"^[A-Za-z0-9._:=@/-]{1,200}$")
MAX_NAME, MAX_PURPOSE = 200, 2000


@dataclass(frozen=True)
class Subscription:
    code: str
    name: str
    purpose: str
    event_types: list[str]      # full names, in the order given, without repeats
    jurisdiction_path: str
    fields: list[str]           # "Type.field" as given (short or full type name)
    delivery: str               # webhook or kafka
    url: str = ""
    topic: str = ""
    principal: str = ""


def topic_of(code: str) -> str:
    return f"cdsp.partner.{code}.v1"


def check(s: pb.Subscriber, caller: Caller, allowed_networks: Sequence[Network]
          ) -> Subscription:
    v = Violations()
    f = "subscriber."
    v.check(bool(CODE.match(s.code)), f + "code", "3 to 32 of a-z, 0-9 and '-'")
    v.check(0 < len(s.name.strip()) <= MAX_NAME, f + "name", f"required, at most {MAX_NAME}")
    v.check(0 < len(s.purpose.strip()) <= MAX_PURPOSE, f + "purpose",
            f"required (why it receives events), at most {MAX_PURPOSE}")
    types: list[str] = []
    for i, name in enumerate(s.event_types):
        known = v.check(full(name) in PAYLOADS, f"{f}event_types[{i}]",
                        f"not a cdsp.partner.v1 event type ({', '.join(sorted(PAYLOADS))})")
        if known and full(name) not in types:
            types.append(full(name))
    v.check(bool(s.event_types), f + "event_types", "at least one event type")
    for i, spec in enumerate(s.fields):
        v.check(field_exists(spec) and full(spec.rpartition(".")[0]) in types,
                f"{f}fields[{i}]", "\"Type.field\" of one of the subscription's event types")
    valid_path = v.check(is_valid_path(s.jurisdiction_path), f + "jurisdiction_path",
                         "must look like /3505/350502/ (codes between slashes)")
    kind = s.WhichOneof("delivery")
    url = topic = principal = ""
    if kind == "webhook":
        try:
            url = check_webhook_url(s.webhook.url, allowed_networks)
        except WebhookUrlError as exc:
            v.add(f + "webhook.url", f"refused by rule {exc.rule!r}: https to a public address")
    elif kind == "kafka":
        principal = s.kafka.principal
        v.check(bool(PRINCIPAL.match(principal)), f + "kafka.principal",
                "required: the subscriber's Kafka principal (its KafkaUser)")
        topic = topic_of(s.code)
    else:
        v.add(f + "delivery", "webhook or kafka is required")
    v.raise_if_any()
    if valid_path:
        caller.require_scope(s.jurisdiction_path, "subscriber.jurisdiction_path")
    return Subscription(s.code, s.name.strip(), s.purpose.strip(), types, s.jurisdiction_path,
                        list(dict.fromkeys(s.fields)), kind or "", url, topic, principal)
