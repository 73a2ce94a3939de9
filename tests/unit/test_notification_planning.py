"""Planning with contacts apart (pure code): which events wait for a contact, and how a notice
names the person for each reader (a resident and a guardian by name, workers by a label)."""

from __future__ import annotations

from types import SimpleNamespace

from cdsp.events.v1 import aid_pb2, registry_pb2
from notification.adapters.recipient_store import RecipientRow
from notification.config import NotifySettings
from notification.domain.rules import match
from notification.domain.wording import default_wording
from notification.service import planning
from notification.service.planning import Target, missing_contacts

PERSON = "5b0f7c1e-3f7a-4d55-9a35-2f1e8f0c9a10"
PATH = "/1101/110105/g01/"


def row(has_contact: bool = True) -> RecipientRow:
    return RecipientRow(PERSON, "h-1", PATH, "王芳" if has_contact else "", 1, 2,
                        "13800138000" if has_contact else "", "", "", "gw-1", False, has_contact)


def red() -> aid_pb2.WarningRaised:
    return aid_pb2.WarningRaised(household_id="h-1", level=aid_pb2.WARNING_LEVEL_RED,
                                 person_ids=[PERSON])


def test_an_event_for_residents_or_guardians_waits_for_a_missing_contact() -> None:
    rules = match("cdsp.events.v1.WarningRaised", red())
    assert missing_contacts(rules, [row(has_contact=False)]) == [f"person_contact:{PERSON}"]
    assert missing_contacts(rules, [row()]) == []


def test_an_event_for_workers_only_never_waits_for_a_contact() -> None:
    rules = match("cdsp.events.v1.VerificationOverdue",
                  registry_pb2.VerificationOverdue(person_id=PERSON))
    assert rules and all(set(r.recipients) <= {"liaison", "grid_team"} for r in rules)
    assert missing_contacts(rules, [row(has_contact=False)]) == []


def household(kind: str, person: RecipientRow | None) -> str:
    notifier = SimpleNamespace(settings=NotifySettings(), wording=default_wording())
    rule = match("cdsp.events.v1.WarningRaised", red())[0]
    target = Target(kind, PERSON, PATH, person, None)
    fields = planning._fields(notifier, rule, {"level": "red"}, target)  # type: ignore[arg-type]
    return fields["household"]


def test_each_reader_sees_the_person_named_as_they_may() -> None:
    assert household("resident", row()) == "您家"
    assert household("guardian", row()) == "王芳家"  # a guardian reads their ward's name
    assert household("grid_team", row()) == "编号5b0f7c1e服务对象的家庭"
    assert household("liaison", row()) == "编号5b0f7c1e服务对象的家庭"
    # A guardian whose ward's contact never came reads the label; nobody known: a household.
    assert household("guardian", row(has_contact=False)) == "编号5b0f7c1e服务对象的家庭"
    assert household("grid_team", None) == "一户家庭"
