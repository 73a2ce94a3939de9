"""The notification part of `make demo`. setup(), before the aid scenario: a partner's webhook
(its secret kept in .local/demo-webhook.json: a second run reuses it), the grid team's e-mail, a
resident's app. run(), after it: this run's notices, each recipient's channels and why, what the
SMS/voice provider, SMTP relay and webhook receiver got, the inboxes, refusals and metrics."""

from __future__ import annotations

import json
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import grpc
from demo_checks import check, expect_error

import devstack
from cdsp.common.v1 import common_pb2 as common
from cdsp.notification.v1 import notification_pb2 as pb
from cdsp.notification.v1.notification_pb2_grpc import NotificationServiceStub
from cdsp.registry.v1 import registry_pb2 as rpb
from cdsp.registry.v1.registry_pb2_grpc import RegistryServiceStub
from notification.adapters.senders.webhook import verify
from runtime.grpc_client import bad_request_fields, sync_channel
from runtime.logs import mask_email, mask_personal_data, mask_resident_id
from sample_community import TZ

STATUS = {1: "pending", 2: "sent", 3: "delivered", 4: "failed"}
SENT, DELIVERED = pb.DELIVERY_STATUS_SENT, pb.DELIVERY_STATUS_DELIVERED
PARTNER_EVENTS = ["cdsp.events.v1.WarningRaised", "cdsp.events.v1.SlaBreached",
                  "cdsp.events.v1.KitLowOnStock"]
WANTED = {"warning_raised", "request_dispatched", "relief_decided"}  # what the scenario makes
HOOK = "demo-webhook.json"  # in the stack's state folder, beside its database


@dataclass
class Setup:  # offsets: the sizes of .local/endpoints/*.jsonl at setup()
    grid_path: str
    person: rpb.Person
    email: str
    secret: str
    offsets: dict[str, int]
    started: datetime


def _stub(stack: devstack.Stack, token: str) -> NotificationServiceStub:
    return NotificationServiceStub(sync_channel(stack.grpc_addr("notification"), token))


def _who(p: rpb.Person) -> str:
    return f"{p.name[:1]}{'*' * (len(p.name) - 1)} [{mask_resident_id(p.resident_id)}]"


def setup(stack: devstack.Stack, sample: dict[str, Any], admin_token: str) -> Setup:
    community, notify = sample["community_path"], _stub(stack, admin_token)
    registry = RegistryServiceStub(sync_channel(stack.grpc_addr("registry"), admin_token))
    household = registry.GetHousehold(rpb.GetHouseholdRequest(
        household_id=sample["households"][0]))
    person = registry.GetPerson(rpb.GetPersonRequest(person_id=household.member_ids[0]))
    grid, saved = household.jurisdiction_path, stack.state_dir / HOOK
    url = f"http://127.0.0.1:{stack.endpoint_port('webhook')}/hook"
    print("\n=== 通知设置 Notification setup (before the aid scenario)")
    hook = json.loads(saved.read_text()) if saved.exists() else {}
    if hook.get("url") == url:  # registering it again would send every notice twice
        print(f"  webhook {hook['webhook_id'][:8]}… already registered: {url} (secret in "
              f"{HOOK}), for {', '.join(e.rsplit('.', 1)[1] for e in PARTNER_EVENTS)}")
    else:
        reply = notify.RegisterWebhook(pb.RegisterWebhookRequest(
            url=url, event_types=PARTNER_EVENTS, jurisdiction_path=community))
        hook = {"webhook_id": reply.webhook_id, "url": url, "secret": reply.signing_secret}
        saved.write_text(json.dumps(hook))
        saved.chmod(0o600)
        check(bool(reply.signing_secret), f"RegisterWebhook {url} for {community}: webhook "
              f"{reply.webhook_id[:8]}… for {len(PARTNER_EVENTS)} event types, signing secret "
              f"returned once (kept in {HOOK})")
    email = f"team-{grid.rstrip('/').rsplit('-', 1)[1]}@xinhua.example.org"
    contact = notify.SetWorkerContact(pb.SetWorkerContactRequest(
        recipient_id=grid, jurisdiction_path=grid, email=email))
    print(f"  grid team {grid} e-mailed at {contact.email} (SetWorkerContact)")
    deadline = time.monotonic() + 60  # the service learns residents from the registry's events
    while True:
        try:
            notify.LinkApp(pb.LinkAppRequest(person_id=person.person_id, linked=True))
            break
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND or time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    print(f"  community app linked for {_who(person)} (LinkApp): "
          f"{common.DisabilityCategory.Name(person.category)}, phone "
          f"{mask_personal_data(person.phone) or 'none'}")
    logs = {n: stack.state_dir / "endpoints" / f"{n}.jsonl" for n in ("webhook", "sms", "email")}
    return Setup(grid, person, email, hook["secret"], {
        n: path.stat().st_size if path.exists() else 0 for n, path in logs.items()},
        datetime.now(UTC))


def _received(stack: devstack.Stack, s: Setup, name: str) -> list[dict[str, Any]]:
    """What a stand-in recorded since setup()."""
    if not (path := stack.state_dir / "endpoints" / f"{name}.jsonl").exists():
        return []
    with path.open("rb") as log:
        log.seek(s.offsets[name])
        lines = [json.loads(line) for line in log.read().decode().splitlines() if line.strip()]
    # The webhook receiver also takes the partner gateway's CloudEvents (path /partner).
    return [line for line in lines if name != "webhook" or line.get("path") == "/hook"]


def _held(d: pb.Delivery) -> bool:
    return d.status == pb.DELIVERY_STATUS_PENDING and d.last_error.startswith("held")


def _status(n: pb.Notice, channel: str) -> int:
    return next((d.status for d in n.deliveries if d.channel == channel), 0)


def _settled(notify: NotificationServiceStub, community: str, s: Setup) -> list[pb.Notice]:
    """This run's notices, once nothing is pending but held deliveries (up to 20 s)."""
    begun = time.monotonic()
    while True:
        page = notify.ListNotices(pb.ListNoticesRequest(  # newest first; a run makes a few
            jurisdiction_path=community, page_size=500))
        notices = [n for n in page.notices if n.created_at.ToDatetime(tzinfo=UTC) >= s.started]
        done = {n.template for n in notices} >= WANTED and all(
            d.status != pb.DELIVERY_STATUS_PENDING or _held(d)
            for n in notices for d in n.deliveries)
        if done or time.monotonic() - begun > 20:
            check(done, f"{len(notices)} notices this run, every delivery settled (or held) "
                        f"after {time.monotonic() - begun:.1f}s")
            return notices
        time.sleep(0.5)


def _show(n: pb.Notice, s: Setup) -> None:
    who = _who(s.person) if n.recipient_id == s.person.person_id else n.recipient_id
    urgency = "urgent" if n.urgency == pb.NOTICE_URGENCY_URGENT else "normal"
    print(f"  {n.title} [{n.template}, {urgency}{', flash alert' if n.flash_alert else ''}]\n"
          f"    → {n.recipient_kind} {who}: " + ", ".join(
              f"{d.channel} {STATUS[d.status]}" + (f" ({d.last_error})" if d.last_error else "")
              for d in n.deliveries))
    if n.channel_reasons:
        print(f"      why: {'; '.join(n.channel_reasons)}")


def run(stack: devstack.Stack, sample: dict[str, Any], admin_token: str, s: Setup) -> None:
    community, notify = sample["community_path"], _stub(stack, admin_token)
    print("\n=== 通知 Notices the aid events made (notification service)")
    notices = _settled(notify, community, s)
    per_channel = Counter(f"{d.channel} {'held' if _held(d) else STATUS[d.status]}"
                          for n in notices for d in n.deliveries)
    stats = notify.GetDeliveryStats(pb.GetDeliveryStatsRequest(jurisdiction_path=community))
    print("  this run by channel: " + ", ".join(f"{k} {v}" for k, v in sorted(per_channel.items()))
          + "\n  all runs (GetDeliveryStats): " + ", ".join(
              f"{c.channel} {STATUS[c.status]} {c.count}" for c in stats.counts)
          + f"; undeliverable notices {stats.undeliverable_notices}")

    def first(template: str, kind: str) -> pb.Notice:
        return next((n for n in notices if n.template == template and n.recipient_kind == kind
                     and (kind == "grid_team" or n.recipient_id == s.person.person_id)),
                    pb.Notice())

    red, team = first("warning_raised", "resident"), first("warning_raised", "grid_team")
    dispatched, relief = first("request_dispatched", "resident"), first("relief_decided",
                                                                        "resident")
    for n in (red, team, dispatched, relief, first("kit_low_on_stock", "grid_team")):
        if n.notice_id:
            _show(n, s)
    check(_status(red, "sms") == SENT and _status(red, "inbox") == DELIVERED,
          "red warning to the resident: an urgent SMS at once, and in the linked app")
    check(_status(team, "inbox") == DELIVERED and _status(team, "email") == SENT
          and _status(team, "webhook") == DELIVERED,
          "red warning to the grid team: inbox, e-mail and the partner's webhook")
    check(_status(dispatched, "sms") == SENT, "request dispatched: an urgent SMS at once")
    check(_status(relief, "sms") == SENT or any(_held(d) for d in relief.deliveries),
          "relief decided (normal): SMS sent, or held for quiet hours (22:00-07:00 local) "
          "or by the rate limit")
    held = sum(any(_held(d) for d in n.deliveries) for n in notices)
    lost = [n for n in notices if n.undeliverable_reason]
    print(f"  held now: {held} normal notices (quiet hours or rate limit; urgent ones are never "
          f"held); undeliverable: {len(lost)}" + "".join(
              f"\n    {n.template} for a {n.recipient_kind}: {n.undeliverable_reason}"
              for n in lost[:2]))
    if team.notice_id and not _status(team, "webhook"):
        (stack.state_dir / HOOK).unlink(missing_ok=True)  # gone: the next run registers anew
    _endpoints(stack, s, red, team)
    _inboxes(stack, s, red, team)
    _refusals_and_metrics(notify, community, stack.metrics_port("notification"))


def _endpoints(stack: devstack.Stack, s: Setup, red: pb.Notice, team: pb.Notice) -> None:
    print("\n=== 外部渠道 What the SMS/voice provider, SMTP relay and webhook receiver got")
    phones = {"+86" + p for p in (s.person.phone, s.person.guardian.phone) if p}
    for m in (sms := _received(stack, s, "sms")):
        print(f"  {m['kind']} to {mask_personal_data(m['to'])}, {m['priority']}"
              f"{', flash' if m['flash'] else ''}: {m['text'].splitlines()[0]}")
    check(any(m["to"] in phones and m["flash"] and m["priority"] == "urgent"
              and m["text"].startswith(red.title or "?") for m in sms),
          "the provider got the red warning for the resident: an urgent flash SMS (hearing)")
    for m in (mails := _received(stack, s, "email")):
        print(f"  e-mail to {', '.join(mask_email(r) for r in m['rcpt_tos'])}: {m['subject']}"
              f"{' (X-Priority 1)' if m['x_priority'] == '1' else ''}")
    check(any(s.email in m["rcpt_tos"] and m["subject"] == team.title
              and m["x_priority"] == "1" for m in mails),
          f"the SMTP relay got the red warning for {mask_email(s.email)}, X-Priority 1")
    verified: list[str] = []
    for h in _received(stack, s, "webhook"):
        doc, body, stamp = json.loads(h["body"]), h["body"].encode(), h["headers"].get(
            "X-CDSP-Timestamp", "")
        signature = h["headers"].get("X-CDSP-Signature", "")
        ok = verify(s.secret, stamp, body, signature)
        if ok and not verify(s.secret, stamp, body + b" ", signature):
            verified.append(doc["notice_id"])
        print(f"  webhook POST {h['path']} → {h['status']}: {doc['event_type'].rsplit('.')[-1]}"
              f" for {doc['recipient_kind']}: {doc['title']}; signature "
              f"{'valid' if ok else 'not from our registration'}")
    check(team.notice_id in verified, "the webhook got the grid team's red warning, validly "
          "signed (HMAC-SHA256); the same body with a byte added fails verify()")


def _inboxes(stack: devstack.Stack, s: Setup, red: pb.Notice, team: pb.Notice) -> None:
    print(f"\n=== 收件箱 Inboxes, read by grid worker gw-01 (scope {s.grid_path})")
    gw = _stub(stack, stack.token("gw-01", "grid_worker", [s.grid_path]))
    for inbox_of, label, notice in ((s.grid_path, "the grid team", team),
                                    (s.person.person_id, f"resident {_who(s.person)}", red)):
        inbox = gw.ListInbox(pb.ListInboxRequest(recipient_id=inbox_of, page_size=50)).notices
        print(f"  {label}: {len(inbox)} notices, newest " + "; ".join(
            f"{n.created_at.ToDatetime(tzinfo=UTC).astimezone(TZ):%H:%M} {n.title}"
            for n in inbox[:3]))
        check(notice.notice_id in {n.notice_id for n in inbox},
              f"the red warning is in the inbox of {label}")


def _refusals_and_metrics(notify: NotificationServiceStub, community: str, port: int) -> None:
    print("\n=== 拒绝 Webhook URLs the platform will not call")
    error = expect_error(grpc.StatusCode.INVALID_ARGUMENT, lambda: notify.RegisterWebhook(
        pb.RegisterWebhookRequest(url="ftp://127.0.0.1/hook", jurisdiction_path=community)),
        "RegisterWebhook ftp://127.0.0.1/hook")
    check(error is not None and "url" in bad_request_fields(error), "the field named is url")
    expect_error(grpc.StatusCode.INVALID_ARGUMENT, lambda: notify.RegisterWebhook(
        pb.RegisterWebhookRequest(url="https://10.0.0.1/hook", jurisdiction_path=community)),
        "RegisterWebhook https://10.0.0.1/hook (a private address)")
    url = f"http://127.0.0.1:{port}/metrics"
    print(f"\n=== 指标 Notification metrics ({url})")
    with urllib.request.urlopen(url, timeout=5) as response:
        lines = [line for line in response.read().decode().splitlines()
                 if line.startswith("cdsp_notification_deliveries_total{")]
    print("  " + "\n  ".join(lines))
    check(any('channel="sms",outcome="sent"' in line for line in lines),
          "SMS deliveries are counted")
