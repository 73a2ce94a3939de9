"""`make demo`: the local stack, the sample community and a short scenario through the public API.

Starts the stack like `make up` (PostgreSQL :55432, broker :9092, registry :50051, metrics :9101,
left running), loads 新华社区 (sample_community.py), then over gRPC: community statistics; a grid
worker scoped to one grid pages through it, updates a record (field mask, expected_version), is
refused a stale version, a person of another grid and bad input, records the monthly check; a
resident moves in and out (archived), comes back to another grid (registering again is refused,
the same record is reactivated) and moves away again; overdue checks; the children whose
certificate is due (none now, every sample infant three years on); the events on the broker;
/metrics. Then
the aid service (demo_aid.py): a red warning opens a case, one of its required actions is done,
relief is granted on the case and a further grant past the case's cap refused, an urgent request
goes from submission to feedback, a wheelchair is lent and returned, the case is resolved, and
the aid events are read back. The employment service
(demo_employment.py): three job seekers assessed with the track and why, an override,
a two-seat course and its waiting list, an enterprise post with the candidates ranked and
explained, a placement with its follow-up and subsidy, and the refusals. The volunteer service
(demo_volunteer.py): 1+1+N pairing with proposals, a visit whose follow-up need reaches the
registry, a missed daily visit found and notified to the liaison. Then the notification
service (demo_notification.py): before the scenario a partner webhook, the grid team's e-mail and
a resident's app link are set up; after it, the notices the aid and employment events made, the
channels chosen for each recipient and why, what the SMS/voice provider, the SMTP relay and the
webhook receiver got (signature verified), the inboxes, refused webhook URLs and the metrics.
Last (demo_moves.py), a household moves to another grid and back: the services re-home its open
aid request and care schedule for the new grid's worker; and the registry re-publishes its
jurisdictions as snapshot events (a rebuild). The partner gateway (demo_partner.py): a charity
subscribed to the community's warnings receives them as signed CloudEvents, pseudonymised and
redacted to its allowlist. Then the worker console (demo_console.py) is used as a browser
would: sign-in, the grid's persons, a file, a person of another grid refused, the inbox,
statistics, sign-out; and its URL and a login are printed.
Resident ID and phone numbers are printed masked only, names as the surname. Exits 1 when anything
misbehaves (a smoke check). Repeatable on one stack: the community stays at 127 active residents.
"""

from __future__ import annotations

import random
import re
import sys
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime, timedelta

import demo_aid
import demo_console
import demo_employment
import demo_moves
import demo_notification
import demo_partner
import demo_volunteer
import grpc
from demo_checks import check, expect_error, failures
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp
from kafka import KafkaConsumer

import devstack
import sample_community as sample
from cdsp.events.v1 import registry_pb2 as ev  # also registers the payload types
from cdsp.events.v1.envelope_pb2 import Envelope
from cdsp.registry.v1 import registry_pb2 as pb
from cdsp.registry.v1.registry_pb2_grpc import RegistryServiceStub
from runtime.events import unpack_payload
from runtime.grpc_client import bad_request_fields, sync_channel
from runtime.logs import mask_personal_data, mask_resident_id

TOPIC = "cdsp.registry.v1"
CATEGORIES = {"visual": "视力", "hearing": "听力", "speech": "言语", "physical": "肢体",
              "intellectual": "智力", "mental": "精神", "multiple": "多重"}
GROUPS = {"disabled_children": "残疾儿童", "elderly_living_alone": "独居老人",
          "multiple_disabilities": "多重残疾", "single_parent_disabled_children": "单亲残疾儿童",
          "seriously_ill": "重病患者", "severe_mental_illness": "严重精神障碍"}
SHELTER = "鲤城区海滨街道新华社区1区周转房"  # the household of the resident who moves in and out
def who(p: pb.Person) -> str:
    return f"{p.name[:1]}{'*' * (len(p.name) - 1)} [{mask_resident_id(p.resident_id)}]"


def local(ts: Timestamp) -> str:
    return f"{ts.ToDatetime(tzinfo=UTC).astimezone(sample.TZ):%Y-%m-%d %H:%M}"


def statistics(admin: RegistryServiceStub) -> None:
    print("\n=== 社区统计 Statistics of 新华社区")
    s = admin.GetStatistics(pb.GetStatisticsRequest(jurisdiction_path=sample.COMMUNITY_PATH))
    print(f"  persons 在册 {s.persons}: certified 持证 {s.certified}, uncertified 未持证 "
          f"{s.uncertified}; living alone 独居 {s.living_alone}")
    print("  by category 按类别: " + ", ".join(
        f"{CATEGORIES.get(c.key, '')} {c.key} {c.count}" for c in s.by_category))
    print("  by grade 按等级: " + ", ".join(
        f"{c.key + '级' if c.key != '0' else '未评 none'} {c.count}" for c in s.by_grade))
    print("  priority groups 重点人群: " + ", ".join(
        f"{GROUPS.get(c.key, c.key)} {c.count}" for c in s.by_priority_group))
    check(s.uncertified >= sample.INFANTS and s.certified >= sample.CERTIFIED,
          f"at least {sample.CERTIFIED} certified and {sample.INFANTS} uncertified residents")
    check({c.key for c in s.by_category} == set(CATEGORIES), "all 7 categories present")


def grid_worker(gw: RegistryServiceStub, admin: RegistryServiceStub) -> tuple[pb.Person, int]:
    """List, update, stale update, verification, refusals. Returns the updated record and the
    number of active persons in the grid."""
    persons: list[pb.Person] = []
    token, page = "", 0
    while page == 0 or token:
        reply = gw.ListPersons(pb.ListPersonsRequest(page_size=10, page_token=token))
        persons, token, page = [*persons, *reply.persons], reply.next_page_token, page + 1
        print(f"  page {page}: {len(reply.persons)} persons, next_page_token="
              f"{token[:12] + '…' if token else '(empty: last page)'}")
    total = gw.GetStatistics(pb.GetStatisticsRequest()).persons
    grid = sample.GRIDS[0]
    check(len(persons) == total and all(p.grid_code == grid for p in persons),
          f"{len(persons)} persons listed, all of grid {grid} (statistics say {total})")

    target = next(p for p in persons if p.phone and p.certified)
    needs = [n for n in target.needs if n.code != "home_care"]
    if len(needs) == len(target.needs):
        needs.append(pb.Need(code="home_care", description="居家照护"))
    change = pb.Person(person_id=target.person_id, phone=f"139{random.randrange(10**8):08d}",
                       needs=needs)
    mask = FieldMask(paths=["phone", "needs"])
    updated = gw.UpdatePerson(pb.UpdatePersonRequest(person=change, update_mask=mask,
                                                     expected_version=target.version))
    print(f"  update {who(target)}: phone {mask_personal_data(target.phone)} → "
          f"{mask_personal_data(updated.phone)}, needs {[n.code for n in target.needs]} → "
          f"{[n.code for n in updated.needs]}")
    check(updated.version == target.version + 1 and updated.phone == change.phone,
          f"update_mask {list(mask.paths)}, expected_version {target.version} → version "
          f"{updated.version}")
    expect_error(grpc.StatusCode.FAILED_PRECONDITION, lambda: gw.UpdatePerson(
        pb.UpdatePersonRequest(person=change, update_mask=mask, expected_version=target.version)),
        f"the same update again with the stale expected_version {target.version}")
    verified = gw.RecordVerification(pb.RecordVerificationRequest(
        person_id=target.person_id, note="月度核查 monthly check"))
    check(verified.service_history[0].kind == "verification",
          f"monthly verification at {local(verified.last_verified_at)} (Asia/Shanghai), "
          f"version {verified.version}")

    other = admin.ListPersons(pb.ListPersonsRequest(
        jurisdiction_path=sample.GRID_PATHS[sample.GRIDS[1]], page_size=1)).persons[0]
    expect_error(grpc.StatusCode.PERMISSION_DENIED, lambda: gw.GetPerson(
        pb.GetPersonRequest(person_id=other.person_id)), f"read a person of {other.grid_code}")
    first17 = "35050219850315002"
    bad_id = first17 + ("1" if sample.check_char(first17) != "1" else "2")
    bad = pb.Person(name="测试", resident_id=bad_id, category=sample.PHYSICAL, grade=9,
                    certified=True, household_id=target.household_id,
                    preferred_channel=sample.CH.CONTACT_CHANNEL_IN_PERSON,
                    living_situation=pb.LIVING_SITUATION_WITH_FAMILY,
                    liaison=pb.Liaison(worker_id="gw-01"))
    error = expect_error(grpc.StatusCode.INVALID_ARGUMENT, lambda: gw.RegisterPerson(
        pb.RegisterPersonRequest(person=bad)),
        f"register {mask_resident_id(bad_id)} (wrong check digit) with grade 9")
    fields = bad_request_fields(error) if error is not None else {}
    for name, description in fields.items():
        print(f"      field violation {name}: {mask_personal_data(description)}")
    check(set(fields) == {"resident_id", "grade"}, "exactly resident_id and grade are named")
    return verified, total


def move_in_and_out(gw: RegistryServiceStub, admin: RegistryServiceStub) -> pb.Person:
    print("\n=== 迁入迁出 A resident moves in, then moves out (archived, the record stays)")
    rng = random.Random()  # a new resident each run (a resident ID collision is negligible)
    grid, grid_path = sample.GRIDS[0], sample.GRID_PATHS[sample.GRIDS[0]]
    filed = admin.ListPersons(pb.ListPersonsRequest(jurisdiction_path=grid_path,
                                                    include_archived=True, page_size=500))
    shelter = next((p.household_id for p in filed.persons if p.address == SHELTER), "")
    shelter = shelter or gw.CreateHousehold(pb.CreateHouseholdRequest(
        grid_code=grid, address=SHELTER, monthly_income_fen=250_000)).household_id
    born = datetime(rng.randint(1960, 1995), rng.randint(1, 12), rng.randint(1, 28)).date()
    moved_in = gw.RegisterPerson(pb.RegisterPersonRequest(person=pb.Person(
        name=sample.chinese_name(rng, True), resident_id=sample.make_resident_id(born, True, rng),
        category=sample.PHYSICAL, grade=3, certified=True, household_id=shelter,
        phone=sample.mobile(rng), preferred_channel=sample.CH.CONTACT_CHANNEL_SMS,
        living_situation=pb.LIVING_SITUATION_WITH_FAMILY,
        liaison=pb.Liaison(worker_id="gw-01", name=sample.WORKERS[0][1]))))
    print(f"  registered {who(moved_in)}, certificate derived "
          f"{mask_personal_data(moved_in.certificate_number)}, version {moved_in.version}")
    archived: pb.Person = gw.ArchivePerson(pb.ArchivePersonRequest(
        person_id=moved_in.person_id, reason=ev.ARCHIVE_REASON_MOVED_OUT,
        expected_version=moved_in.version))
    check(archived.status == pb.PERSON_STATUS_ARCHIVED,
          f"ArchivePerson (moved out) → {pb.PersonStatus.Name(archived.status)}, "
          f"version {archived.version}")
    expect_error(grpc.StatusCode.FAILED_PRECONDITION, lambda: gw.RecordVerification(
        pb.RecordVerificationRequest(person_id=archived.person_id)), "verify the archived record")
    return archived


def come_back(gw2: RegistryServiceStub, cw: RegistryServiceStub, archived: pb.Person) -> None:
    print("\n=== 回迁 The resident comes back, to another grid: the same record, reactivated")
    household = gw2.ListPersons(pb.ListPersonsRequest(page_size=1)).persons[0].household_id
    again = pb.Person(name=archived.name, resident_id=archived.resident_id,
                      category=archived.category, grade=archived.grade, certified=True,
                      household_id=household, phone=archived.phone,
                      preferred_channel=archived.preferred_channel,
                      living_situation=archived.living_situation,
                      liaison=pb.Liaison(worker_id="gw-02"))
    # gw-02 does not cover gw-01's grid: told only that it awaits review, not where it is.
    refused = expect_error(grpc.StatusCode.FAILED_PRECONDITION, lambda: gw2.RegisterPerson(
        pb.RegisterPersonRequest(person=again)), f"gw-02 registers {who(archived)} again")
    detail = (refused.details() or "") if refused is not None else ""
    check(bool(detail) and archived.person_id not in detail and sample.GRIDS[0] not in detail,
          "the answer names neither the record nor its grid")
    [review] = [r for r in cw.ListRegistrationReviews(pb.ListRegistrationReviewsRequest()).reviews
                if r.holder_person_id == archived.person_id]
    print(f"  cw-01's review list: {review.review_id[:8]}… requested in {review.requested_path} "
          f"by {review.requested_by}, record kept in {review.holder_path}")
    cw.ResolveRegistrationReview(pb.ResolveRegistrationReviewRequest(
        review_id=review.review_id, resolution=pb.REVIEW_RESOLUTION_REACTIVATED,
        expected_version=review.version))
    back = gw2.GetPerson(pb.GetPersonRequest(person_id=archived.person_id))
    check(back.status == pb.PERSON_STATUS_ACTIVE and back.grid_code == sample.GRIDS[1]
          and back.version == archived.version + 1,
          f"cw-01 resolves it REACTIVATED: {pb.PersonStatus.Name(back.status)} in "
          f"{back.grid_code}, version {back.version}, history "
          f"{[r.kind for r in back.service_history]}")
    gone = gw2.ArchivePerson(pb.ArchivePersonRequest(
        person_id=back.person_id, reason=ev.ARCHIVE_REASON_MOVED_OUT,
        expected_version=back.version))
    check(gone.status == pb.PERSON_STATUS_ARCHIVED,
          f"moves away again (archived, version {gone.version}): the community keeps its "
          "active residents")


def certification_due(admin: RegistryServiceStub) -> None:
    print("\n=== 办证提醒 Children without a certificate who have turned 3 (certificate due)")
    now = admin.ListCertificationDue(pb.ListCertificationDueRequest(
        jurisdiction_path=sample.COMMUNITY_PATH, page_size=500))
    as_of = Timestamp()
    as_of.FromDatetime(datetime(datetime.now(sample.TZ).year + 3, 1, 1, tzinfo=sample.TZ))
    later = admin.ListCertificationDue(pb.ListCertificationDueRequest(
        jurisdiction_path=sample.COMMUNITY_PATH, as_of=as_of, page_size=500))
    print(f"  due now: {len(now.persons)}; as of {local(as_of)}: {len(later.persons)}, e.g. "
          + ", ".join(f"{who(p)} born {p.birth_date.year}-{p.birth_date.month:02d}-"
                      f"{p.birth_date.day:02d}" for p in later.persons[:3]))
    check(len(later.persons) >= sample.INFANTS and not any(p.certified for p in later.persons),
          f"as of {local(as_of)} every uncertified sample infant ({sample.INFANTS}) is due a "
          "certificate")


def overdue(gw: RegistryServiceStub, grid_total: int) -> None:
    print("\n=== 逐月核查 Overdue monthly verifications (due before the 5th of each month)")
    now = gw.ListOverdueVerifications(pb.ListOverdueVerificationsRequest(page_size=500))
    print(f"  overdue now: {len(now.persons)}")
    as_of = Timestamp()
    as_of.FromDatetime((datetime.now(sample.TZ).replace(day=1) + timedelta(days=32)).replace(
        day=6, hour=9, minute=0))
    later = gw.ListOverdueVerifications(pb.ListOverdueVerificationsRequest(as_of=as_of,
                                                                           page_size=500))
    check(len(later.persons) == grid_total, f"as of {local(as_of)}: {len(later.persons)} "
          "overdue (every active record of the grid, until checked next month)")


def events(updated: pb.Person, archived: pb.Person, bootstrap: str) -> None:
    print(f"\n=== 事件 Events on topic {TOPIC}")
    wanted = [(updated, "VerificationRecorded"), (archived, "PersonArchived")]

    def published(person: pb.Person, kind: str) -> bool:
        return any(e.aggregate_id == person.person_id and e.aggregate_version == person.version
                   and e.event_type == f"cdsp.events.v1.{kind}" for e in seen)

    consumer = KafkaConsumer(TOPIC, bootstrap_servers=bootstrap, group_id=None,
                             auto_offset_reset="earliest", consumer_timeout_ms=2000)
    seen: list[Envelope] = []
    deadline = time.monotonic() + 15  # the outbox relay publishes shortly after each commit
    while not all(published(*w) for w in wanted) and time.monotonic() < deadline:
        seen += [Envelope.FromString(m.value) for m in consumer]  # until 2 s without a record
    consumer.close()
    seen.sort(key=lambda e: e.occurred_at.ToNanoseconds())
    for event_type, n in sorted(Counter(e.event_type for e in seen).items()):
        print(f"  {event_type:<40} {n}")
    print("  last events (type, aggregate id, version):")
    for env in seen[-6:]:
        payload = unpack_payload(env)
        detail = (f"changed {list(payload.changed_fields)}"
                  if isinstance(payload, ev.PersonUpdated) else
                  f"needs +{list(payload.added)} -{list(payload.removed)}"
                  if isinstance(payload, ev.PersonNeedsChanged) else
                  ev.ArchiveReason.Name(payload.reason)
                  if isinstance(payload, ev.PersonArchived) else "")
        print(f"    {env.event_type.rsplit('.', 1)[-1]:<22} {env.aggregate_id[:8]}… "
              f"v{env.aggregate_version} {detail}")
    for person, kind in wanted:
        check(published(person, kind),
              f"{kind} v{person.version} of {person.person_id[:8]}… is on the topic")


BACKLOG = "cdsp_outbox_backlog_events"


def _scrape(url: str) -> list[str]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own http page
        return list(response.read().decode().splitlines())


def metrics(url: str) -> None:
    print(f"\n=== 指标 Metrics ({url})")
    lines = _scrape(url)
    deadline = time.monotonic() + 15  # the backlog gauge is refreshed every few seconds
    while (f"{BACKLOG} 0.0" not in lines) and time.monotonic() < deadline:
        time.sleep(1)
        lines = _scrape(url)
    by_code: Counter[str] = Counter()
    for line in (line for line in lines if line.startswith("cdsp_grpc_requests_total{")):
        code = re.search(r'code="(\w+)"', line)
        by_code[code.group(1) if code else "?"] += int(float(line.rsplit(" ", 1)[1]))
    print("  gRPC requests by code: " + ", ".join(f"{c} {n}" for c, n in by_code.most_common()))
    backlog = next((line for line in lines if line.startswith(BACKLOG + " ")), "")
    published = [line for line in lines if line.startswith("cdsp_events_published_total{")]
    print("  " + "\n  ".join([backlog, *published]))
    check(backlog.endswith(" 0.0"), "outbox backlog drained")


def main() -> int:
    stack = devstack.Stack()
    devstack.up(stack)
    addr = stack.grpc_addr("registry")
    admin_token = stack.token("demo-city-admin", "city_admin", ["/3505/"])
    print("\n=== 样例社区 Sample community 泉州市 › 鲤城区 › 海滨街道 › 新华社区")
    s = sample.build(addr, admin_token)
    print(f"  jurisdictions created now {s['jurisdictions_created']}; households "
          f"{len(s['households'])} (new {s['households_created']}); persons {len(s['persons'])} "
          f"(new {s['persons_registered']}, already registered {s['persons_skipped']})")
    print("  persons by grid: " + ", ".join(f"{g} {n}" for g, n in s["persons_by_grid"].items()))
    admin = RegistryServiceStub(sync_channel(addr, admin_token))
    statistics(admin)
    grid_path = sample.GRID_PATHS[sample.GRIDS[0]]
    print(f"\n=== 网格员 Grid worker gw-01 (role grid_worker, scope {grid_path})")
    print(f"  signs in at the local issuer {stack.issuer_url}/token (users: "
          f"{', '.join(stack.identity.users())}; password {stack.identity.dev_password()})")
    gw = RegistryServiceStub(sync_channel(addr, devstack.issuer_login(stack, "gw-01")))
    updated, grid_total = grid_worker(gw, admin)
    archived = move_in_and_out(gw, admin)
    come_back(RegistryServiceStub(sync_channel(addr, devstack.issuer_login(stack, "gw-02"))),
              RegistryServiceStub(sync_channel(addr, devstack.issuer_login(stack, "cw-01"))),
              archived)
    overdue(gw, grid_total)
    certification_due(admin)
    events(updated, archived, stack.kafka_bootstrap)
    metrics(f"http://127.0.0.1:{stack.metrics_port('registry')}/metrics")
    notices = demo_notification.setup(stack, s, admin_token)
    partner = demo_partner.setup(stack, s, admin_token)
    demo_aid.run(stack, s, admin_token)
    demo_employment.run(stack, s, admin_token)
    demo_volunteer.run(stack, s, admin_token)
    demo_notification.run(stack, s, admin_token, notices)
    demo_moves.run(stack, s, admin_token)
    demo_partner.run(stack, s, partner)
    demo_console.run(stack)
    print("\n=== 结果 Result")
    if failures:
        print(f"  {len(failures)} check(s) FAILED:\n    " + "\n    ".join(failures))
        return 1
    print("  every check passed; the stack keeps running (`make down` stops it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
