"""The partner gateway part of `make demo`. setup(), before the aid scenario: a charity is
registered as a subscriber of the sample community's warnings, case closures and relief
decisions, with only the fields its purpose needs, delivered as signed CloudEvents to the local
webhook receiver (its secret kept in .local/demo-partner.json: a second run reuses it). run(),
after the scenario: what the charity received, each signature checked, the subject a pseudonym
of the charity's own (never the internal id), every field outside its allowlist empty, nothing
from outside the community; a subscriber with an http URL to a private address is refused."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import grpc
from demo_checks import check, expect_error

import devstack
from cdsp.partner.v1 import partner_pb2 as pb
from cdsp.partner.v1.partner_pb2_grpc import PartnerAdminServiceStub
from partner.domain.cloudevents import verify
from runtime.grpc_client import sync_channel

SAVED = "demo-partner.json"
TYPES = ["cdsp.partner.v1.WarningRaised", "cdsp.partner.v1.WarningResolved",
         "cdsp.partner.v1.ReliefDecided"]
FIELDS = ["WarningRaised.level", "WarningRaised.rule", "WarningResolved.outcome",
          "ReliefDecided.granted", "ReliefDecided.amount_fen"]


def setup(stack: devstack.Stack, sample: dict[str, Any], admin_token: str) -> dict[str, str]:
    admin = PartnerAdminServiceStub(sync_channel(stack.grpc_addr("partner"), admin_token))
    url = f"http://127.0.0.1:{stack.endpoint_port('webhook')}/partner"
    saved = stack.state_dir / SAVED
    print("\n=== 合作方订阅 Partner subscription (before the aid scenario)")
    known: dict[str, str] = json.loads(saved.read_text()) if saved.exists() else {}
    if known.get("url") == url:
        print(f"  subscriber demo-charity already registered ({known['subscriber_id'][:8]}…), "
              f"secret in {SAVED}")
        return known
    reply = admin.RegisterSubscriber(pb.RegisterSubscriberRequest(subscriber=pb.Subscriber(
        code="demo-charity", name="海滨慈善会 (demo)", purpose="48-hour relief for orange "
        "warnings; follow-up of red ones", event_types=TYPES,
        jurisdiction_path=sample["community_path"], fields=FIELDS,
        webhook=pb.WebhookDelivery(url=url))))
    known = {"subscriber_id": reply.subscriber.subscriber_id, "url": url,
             "secret": reply.secret}
    saved.write_text(json.dumps(known))
    saved.chmod(0o600)
    check(bool(reply.secret), f"RegisterSubscriber demo-charity for {sample['community_path']}: "
          f"{len(TYPES)} event types, {len(FIELDS)} fields allowed, webhook {url}, secret "
          f"returned once (kept in {SAVED})")
    expect_error(grpc.StatusCode.INVALID_ARGUMENT, lambda: admin.RegisterSubscriber(
        pb.RegisterSubscriberRequest(subscriber=pb.Subscriber(
            code="demo-bad", name="x", purpose="x", event_types=TYPES[:1],
            jurisdiction_path=sample["community_path"],
            webhook=pb.WebhookDelivery(url="http://10.1.2.3/hook")))),
        "a subscriber whose webhook is plain http to a private address")
    return known


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _received(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [line for line in lines if line.get("path") == "/partner"]


def run(stack: devstack.Stack, sample: dict[str, Any], known: dict[str, str]) -> None:
    print("\n=== 合作方收到的事件 What the charity received (signed CloudEvents)")
    log = stack.state_dir / "endpoints" / "webhook.jsonl"
    deadline = time.monotonic() + 60
    while not any(json.loads(r["body"]).get("type", "").endswith("WarningRaised")
                  for r in _received(log)) and time.monotonic() < deadline:
        time.sleep(0.5)
    received = _received(log)
    internal_ids = set(sample["households"]) | set(sample.get("persons", []))
    for record in received[-6:]:
        event = json.loads(record["body"])
        data = event.get("data", {})
        print(f"  {event['type'].rsplit('.', 1)[1]:<16} subject {event['subject'][:12]}… "
              f"seq {event.get('cdspsequence')} data {json.dumps(data, ensure_ascii=False)}")
    check(any(json.loads(r["body"])["type"].endswith("WarningRaised") for r in received),
          f"the charity received the scenario's warnings ({len(received)} events so far)")
    check(all(verify(known["secret"], r["headers"].get("X-CDSP-Timestamp", ""),
                     r["body"].encode(), r["headers"].get("X-CDSP-Signature", ""),
                     tolerance_s=10**9) for r in received) and bool(received),
          "every delivery's signature verifies with the charity's secret")
    # protobuf's JSON names (lowerCamelCase); the pseudonyms of what an event is about stay
    allowed = {_camel(f.split(".", 1)[1]) for f in FIELDS} | {"household", "case", "persons"}
    check(all(set(json.loads(r["body"]).get("data", {})) <= allowed for r in received),
          "no field outside the subscription's allowlist (and no name, phone or resident ID)")
    check(not any(json.loads(r["body"])["subject"] in internal_ids for r in received),
          "subjects are the charity's pseudonyms, never the platform's internal ids")
    check(all(json.loads(r["body"]).get("cdspjurisdiction", "").startswith(
        sample["community_path"]) for r in received),
        "nothing from outside the community it subscribed to")
