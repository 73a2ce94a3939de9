"""The registry's events, built from the domain objects (see protos/cdsp/events/v1/registry.proto).

Events carry what other services need and nothing more: never the resident ID or certificate
number, and on the general topic (cdsp.registry.v1, read by every service and partners) never a
name, phone or guardian either. How to reach a person travels as PersonContact on a topic of its
own, CONTACTS_TOPIC, that only the notification service may read.
"""

from __future__ import annotations

from datetime import date, datetime

from cdsp.common.v1 import common_pb2
from cdsp.events.v1 import registry_pb2 as ev
from registry.domain.household import Household, Jurisdiction
from registry.domain.person import ALONE, ARCHIVED, Person
from registry.domain.verification import CheckMonth
from runtime.timestamps import to_timestamp

CONTACTS_TOPIC = "cdsp.registry.contacts.v1"
CONTACT_AGGREGATE = "person_contact"
# The record's fields a PersonContact carries: a change to any of them publishes one.
CONTACT_FIELDS = ("name", "phone", "preferred_channel", "guardian")


def _date(day: date) -> common_pb2.Date:
    return common_pb2.Date(year=day.year, month=day.month, day=day.day)


def snapshot(person: Person, household_income_fen: int) -> ev.PersonSnapshot:
    return ev.PersonSnapshot(
        person_id=person.person_id,
        household_id=person.household_id,
        jurisdiction_path=person.jurisdiction_path,
        sex=person.sex,  # type: ignore[arg-type]
        birth_date=_date(person.birth_date),
        category=person.category,  # type: ignore[arg-type]
        grade=person.grade,
        certified=person.certified,
        household_monthly_income_fen=household_income_fen,
        liaison_id=person.liaison.worker_id if person.liaison else "",
        living_alone=person.living_situation == ALONE,
        priority_groups=person.priority_groups,
        need_codes=person.need_codes,
        archived=person.status == ARCHIVED,
    )


def person_contact(person: Person) -> ev.PersonContact:
    """How to reach the person; an archived record's contact is erased (every field empty)."""
    if person.status == ARCHIVED:
        return ev.PersonContact(person_id=person.person_id, erased=True)
    return ev.PersonContact(
        person_id=person.person_id,
        name=person.name,
        phone=person.phone,
        preferred_channel=person.preferred_channel,  # type: ignore[arg-type]
        guardian_name=person.guardian.name if person.guardian else "",
        guardian_phone=person.guardian.phone if person.guardian else "",
    )


def person_registered(person: Person, income: int) -> ev.PersonRegistered:
    return ev.PersonRegistered(person=snapshot(person, income))


def person_updated(person: Person, income: int, changed: list[str]) -> ev.PersonUpdated:
    return ev.PersonUpdated(person=snapshot(person, income), changed_fields=changed)


def needs_changed(before: Person, after: Person) -> ev.PersonNeedsChanged:
    old, new = set(before.need_codes), set(after.need_codes)
    return ev.PersonNeedsChanged(person_id=after.person_id, added=sorted(new - old),
                                 removed=sorted(old - new), need_codes=after.need_codes)


def person_archived(person: Person, income: int) -> ev.PersonArchived:
    return ev.PersonArchived(person_id=person.person_id,
                             reason=person.archive_reason,  # type: ignore[arg-type]
                             person=snapshot(person, income))


def person_reactivated(person: Person, income: int) -> ev.PersonReactivated:
    return ev.PersonReactivated(person=snapshot(person, income))


def verification_recorded(person: Person, at: datetime, verifier: str) -> ev.VerificationRecorded:
    event = ev.VerificationRecorded(person_id=person.person_id, verifier_id=verifier)
    event.verified_at.FromDatetime(at)
    return event


def verification_due(person_id: str, last_verified_at: datetime | None, month: CheckMonth
                     ) -> ev.VerificationDue:
    return ev.VerificationDue(person_id=person_id, due_by=to_timestamp(month.due_by),
                              last_verified_at=to_timestamp(last_verified_at), month=month.label)


def verification_overdue(person_id: str, last_verified_at: datetime | None, month: CheckMonth
                         ) -> ev.VerificationOverdue:
    return ev.VerificationOverdue(person_id=person_id, due_by=to_timestamp(month.due_by),
                                  last_verified_at=to_timestamp(last_verified_at),
                                  month=month.label)


def certification_due(person_id: str, third_birthday: date) -> ev.CertificationDue:
    return ev.CertificationDue(person_id=person_id, third_birthday=_date(third_birthday))


def household_changed(household: Household) -> ev.HouseholdChanged:
    return ev.HouseholdChanged(household_id=household.household_id,
                               jurisdiction_path=household.jurisdiction_path,
                               monthly_income_fen=household.monthly_income_fen)


def jurisdiction_changed(j: Jurisdiction) -> ev.JurisdictionChanged:
    return ev.JurisdictionChanged(code=j.code, name=j.name, level=j.level,
                                  parent_code=j.parent_code, path=j.path,
                                  minimum_living_standard_fen=j.minimum_living_standard_fen)
