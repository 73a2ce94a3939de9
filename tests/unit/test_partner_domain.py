"""The partner gateway's pure parts: translation of internal events, redaction to the
allowlist, per-subscriber pseudonyms, subscription checks and the signed CloudEvent."""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, date, datetime

import pytest
from google.protobuf.message import Message

from cdsp.common.v1 import common_pb2
from cdsp.events.v1 import aid_pb2 as aev
from cdsp.events.v1 import employment_pb2 as eev
from cdsp.events.v1 import registry_pb2 as rev
from cdsp.events.v1.envelope_pb2 import Envelope
from cdsp.partner.v1 import events_pb2 as pev
from cdsp.partner.v1 import partner_pb2 as pb
from partner.adapters.subscriber_store import SubscriberRow
from partner.domain import catalogue, cloudevents, subscription
from partner.domain.pseudonym import pseudonym
from partner.domain.translate import age_band, below_standard, translate
from partner.service.fanout import event_id, for_subscriber
from runtime.auth import Caller
from runtime.errors import InvalidArgument, PermissionDenied
from runtime.events import build_envelope
from runtime.webhook_client import sign

NETS = (ipaddress.ip_network("127.0.0.0/8"),)
ADMIN = Caller("admin", "district_admin", ("/3505/350502/",))


def envelope(payload: Message, snapshot: bool = False, path: str = "/3505/350502/001/"
             ) -> Envelope:
    return build_envelope(payload, aggregate_type="x", aggregate_id="a", version=1,
                          jurisdiction_path=path, producer="t", actor="t", request_id="",
                          occurred_at=datetime(2026, 3, 1, tzinfo=UTC), snapshot=snapshot)


def person(**kw: object) -> rev.PersonSnapshot:
    return rev.PersonSnapshot(person_id="p1", household_id="h1", grade=2, certified=True,
                              category=common_pb2.DISABILITY_CATEGORY_PHYSICAL,
                              birth_date=common_pb2.Date(year=1980, month=6, day=15),
                              priority_groups=["elderly"], need_codes=["N1"], **kw)


def test_age_band_is_a_ten_year_band_at_the_event_date() -> None:
    assert age_band(date(1980, 6, 15), date(2026, 3, 1)) == 40   # 45
    assert age_band(date(1986, 3, 2), date(2026, 3, 1)) == 30    # 39, birthday tomorrow
    assert age_band(date(1930, 1, 1), date(2026, 3, 1)) == 80    # capped
    assert age_band(None, date(2026, 3, 1)) == 0


def test_registration_and_reactivation_enrol_the_person() -> None:
    for cls in (rev.PersonRegistered, rev.PersonReactivated):
        t = translate(envelope(cls(person=person())), cls(person=person()))
        assert t is not None and t.subject_id == "p1"
        assert t.payload == pev.PersonEnrolled(person="p1", household="h1", category=4, grade=2,
                                               certified=True, age_band=40,
                                               priority_groups=["elderly"], need_codes=["N1"])


def test_archive_income_and_snapshots() -> None:
    left = rev.PersonArchived(person_id="p1", reason=rev.ARCHIVE_REASON_DECEASED)
    t = translate(envelope(left), left)
    assert t is not None and t.payload == pev.PersonLeft(person="p1", reason="deceased")
    household = rev.HouseholdChanged(household_id="h1", monthly_income_fen=50_000)
    t = translate(envelope(household), household, standard_fen=80_000)
    assert t is not None and t.subject_id == "h1"
    assert t.payload == pev.HouseholdIncomeAssessed(household="h1", monthly_income_fen=50_000,
                                                    below_minimum_living_standard=True)
    assert not below_standard(50_000, 0)   # no standard known: not flagged
    assert not below_standard(90_000, 80_000)
    # A snapshot is state re-published, not a change: never forwarded as one.
    assert translate(envelope(household, snapshot=True), household) is None
    # Not a public event at all.
    assert translate(envelope(rev.PersonUpdated()), rev.PersonUpdated()) is None


def test_aid_and_employment_events() -> None:
    warning = aev.WarningRaised(household_id="h1", case_id="c1", level=aev.WARNING_LEVEL_RED,
                                reason="monthly medical spending is 80% of household income",
                                person_ids=["p1", "p2"])
    t = translate(envelope(warning), warning)
    assert t is not None and t.payload == pev.WarningRaised(
        household="h1", case="c1", level=pev.WARNING_LEVEL_RED, rule="medical_share",
        persons=["p1", "p2"])   # the reason's figures never leave
    resolved = aev.CaseResolved(case_id="c1", household_id="h1", outcome="helped")
    assert translate(envelope(resolved), resolved).payload == pev.WarningResolved(  # type: ignore[union-attr]
        household="h1", case="c1", outcome="helped")
    placed = eev.Placed(person_id="p1", post_id="post", employer_id="e", full_time=True,
                        monthly_subsidy_fen=100)
    assert translate(envelope(placed), placed).payload == pev.PersonPlaced(  # type: ignore[union-attr]
        person="p1", post="post", employer="e", full_time=True, monthly_subsidy_fen=100)


def row(fields: list[str], subscriber_id: str = "00000000-0000-0000-0000-000000000001"
        ) -> SubscriberRow:
    now = datetime.now(UTC)
    return SubscriberRow(subscriber_id, "x", "x", "x", ["cdsp.partner.v1.WarningRaised"],
                         "/3505/", fields, "webhook", "", "", "", 1, b"", None, None, b"", now,
                         now, 1)


def test_redaction_keeps_the_allowlist_and_the_subject_and_pseudonymises_ids() -> None:
    warning = aev.WarningRaised(household_id="h1", case_id="c1", level=aev.WARNING_LEVEL_ORANGE,
                                person_ids=["p1"])
    env = envelope(warning)
    t = translate(env, warning)
    assert t is not None
    key_a, key_b = b"a" * 32, b"b" * 32
    a = for_subscriber(t, env, row(["WarningRaised.level"]), key_a, 7)
    payload = cloudevents.payload_of(a)
    assert payload == pev.WarningRaised(household=pseudonym(key_a, "h1"),
                                        level=pev.WARNING_LEVEL_ORANGE)
    assert a.subject == pseudonym(key_a, "h1") != "h1" and a.sequence == 7
    b = for_subscriber(t, env, row(["cdsp.partner.v1.WarningRaised.persons"]), key_b, 1)
    assert b.subject != a.subject  # two subscribers cannot join on it
    assert cloudevents.payload_of(b).persons == [pseudonym(key_b, "p1")]  # type: ignore[attr-defined]
    assert len(a.subject) == 32 and a.id == event_id(row([]).subscriber_id, env.event_id)


def registration(**kw: object) -> pb.Subscriber:
    s = pb.Subscriber(code="med-ins", name="市医保局", purpose="second reimbursement",
                      event_types=["WarningRaised"], jurisdiction_path="/3505/350502/",
                      fields=["WarningRaised.level"])
    s.webhook.url = "https://partner.example.com/hook"
    for name, value in kw.items():
        if name == "url":
            s.webhook.url = value  # type: ignore[assignment]
        else:
            s.ClearField(name)  # type: ignore[arg-type]
            field = getattr(s, name)
            if isinstance(value, list):
                field.extend(value)
            else:
                setattr(s, name, value)
    return s


def test_a_good_subscription_is_checked_and_normalised() -> None:
    checked = subscription.check(registration(), ADMIN, NETS)
    assert checked.event_types == ["cdsp.partner.v1.WarningRaised"]
    assert checked.delivery == "webhook" and checked.url.startswith("https://")
    kafka = registration()
    kafka.kafka.principal = "User:med-ins"
    assert subscription.check(kafka, ADMIN, NETS).topic == "cdsp.partner.med-ins.v1"


@pytest.mark.parametrize(("change", "field"), [
    ({"code": "Bad Code"}, "subscriber.code"),
    ({"name": ""}, "subscriber.name"),
    ({"event_types": ["PersonRegistered"], "fields": []}, "subscriber.event_types[0]"),
    ({"fields": ["WarningRaised.reason"]}, "subscriber.fields[0]"),
    ({"fields": ["PersonPlaced.employer"]}, "subscriber.fields[0]"),
    ({"url": "http://partner.example.com/hook"}, "subscriber.webhook.url"),
    ({"url": "https://10.1.2.3/hook"}, "subscriber.webhook.url"),
    ({"url": "https://169.254.169.254/"}, "subscriber.webhook.url"),
    ({"jurisdiction_path": "3505"}, "subscriber.jurisdiction_path"),
])
def test_bad_subscriptions_name_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        subscription.check(registration(**change), ADMIN, NETS)
    assert [v.field for v in err.value.violations] == [field]


def test_a_subtree_outside_the_admins_jurisdictions_is_refused() -> None:
    with pytest.raises(PermissionDenied):
        subscription.check(registration(jurisdiction_path="/3505/350503/"), ADMIN, NETS)


def test_kafka_needs_a_principal() -> None:
    s = registration()
    s.kafka.principal = ""
    with pytest.raises(InvalidArgument) as err:
        subscription.check(s, ADMIN, NETS)
    assert [v.field for v in err.value.violations] == ["subscriber.kafka.principal"]


def test_the_cloudevent_is_structured_and_signed_with_both_secrets_in_an_overlap() -> None:
    event = pev.PartnerEvent(id="e1", type="cdsp.partner.v1.WarningRaised", subject="s",
                             sequence=3, jurisdiction="/3505/")
    event.time.FromDatetime(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    event.data.Pack(pev.WarningRaised(household="s", level=pev.WARNING_LEVEL_RED))
    body = cloudevents.encode(event)
    doc = json.loads(body)
    assert doc == {"specversion": "1.0", "id": "e1", "source": "/cdsp/partner",
                   "type": "cdsp.partner.v1.WarningRaised", "subject": "s",
                   "time": "2026-03-01T08:00:00.000000Z", "datacontenttype": "application/json",
                   "cdspsequence": 3, "cdspjurisdiction": "/3505/",
                   "data": {"household": "s", "level": "WARNING_LEVEL_RED"}}
    headers = cloudevents.headers("e1", body, ["new", "old"], now=1000)
    assert headers["Content-Type"] == "application/cloudevents+json"
    assert headers["X-CDSP-Signature"] == f"{sign('new', 1000, body)},{sign('old', 1000, body)}"
    for secret in ("new", "old"):
        assert cloudevents.verify(secret, "1000", body, headers["X-CDSP-Signature"], now=1010)
    assert not cloudevents.verify("other", "1000", body, headers["X-CDSP-Signature"], now=1010)
    assert not cloudevents.verify("new", "1000", body + b" ", headers["X-CDSP-Signature"],
                                  now=1010)


def test_every_payload_has_a_subject_field() -> None:
    for name, cls in catalogue.PAYLOADS.items():
        assert catalogue.SUBJECT_FIELD[name] in cls.DESCRIPTOR.fields_by_name
