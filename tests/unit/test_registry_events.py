"""The registry's events carry what other services need, never the resident ID; names, phones
and guardians only in PersonContact (the restricted contacts topic)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from cdsp.events.v1 import registry_pb2 as ev
from registry.domain import events
from registry.domain.contact import Guardian, Liaison
from registry.domain.household import Household
from registry.domain.person import ALONE, ARCHIVED, DECEASED, DEFAULT_PRIORITY_GROUPS, Need, Person

RESIDENT_ID = "11010519491231002X"
TODAY = date(2025, 6, 15)


def person(**overrides: object) -> Person:
    values: dict[str, object] = {
        "person_id": "5b0f7c1e-3f7a-4d55-9a35-2f1e8f0c9a10", "name": "王芳",
        "resident_id": RESIDENT_ID, "category": 7, "grade": 1, "certified": True,
        "certificate_number": "", "household_id": "0d6f9b52-8d7e-4b1b-9f0e-5c6f7a8b9c0d",
        "jurisdiction_path": "/1101/110105/", "phone": "13800138000", "preferred_channel": 2,
        "guardian": Guardian("王强", "13700137000", "son"),
        "liaison": Liaison("w-001", "李四", ""), "living_situation": ALONE,
        "priority_groups": ["seriously_ill"], "needs": [Need("home_sickbed"), Need("transport")],
    }
    values.update(overrides)
    p = Person(**values)  # type: ignore[arg-type]
    p.validate(TODAY, DEFAULT_PRIORITY_GROUPS)
    return p


def test_snapshot_carries_the_record() -> None:
    snap = events.snapshot(person(), 250_000)
    assert snap.person_id == "5b0f7c1e-3f7a-4d55-9a35-2f1e8f0c9a10"
    assert snap.sex == 2
    assert (snap.birth_date.year, snap.birth_date.month, snap.birth_date.day) == (1949, 12, 31)
    assert (snap.category, snap.grade, snap.certified) == (7, 1, True)
    assert snap.household_monthly_income_fen == 250_000
    assert snap.liaison_id == "w-001"
    assert snap.living_alone is True
    assert list(snap.priority_groups) == ["elderly_living_alone", "multiple_disabilities",
                                          "seriously_ill"]
    assert list(snap.need_codes) == ["home_sickbed", "transport"]
    assert snap.archived is False


def test_registered_and_updated_events_never_carry_the_resident_id() -> None:
    p = person()
    assert p.certificate_number == RESIDENT_ID + "71"
    for message in (events.person_registered(p, 250_000),
                    events.person_updated(p, 250_000, ["phone", "needs"])):
        wire = message.SerializeToString()
        assert RESIDENT_ID.encode() not in wire
        assert RESIDENT_ID[:17].encode() not in wire
        assert RESIDENT_ID.encode() not in str(message).encode()


def test_snapshot_without_guardian_or_liaison_and_archived() -> None:
    p = person(guardian=None)
    p.liaison, p.status, p.archive_reason = None, ARCHIVED, DECEASED
    snap = events.snapshot(p, 0)
    assert snap.liaison_id == ""
    assert snap.archived is True
    archived = events.person_archived(p, 120_000)
    assert archived.reason == ev.ARCHIVE_REASON_DECEASED
    # The whole record as archived travels with it: a projection's tombstone.
    assert archived.person.archived and archived.person.household_monthly_income_fen == 120_000


def test_the_general_events_carry_no_name_phone_or_guardian() -> None:
    """cdsp.registry.v1 is read by every service (and partners): none of the record's contact
    details is in any of its person events, on the wire or as text."""
    p = person()
    assert "name" not in ev.PersonSnapshot.DESCRIPTOR.fields_by_name
    secrets = ("王芳", "13800138000", "王强", "13700137000")
    for message in (events.person_registered(p, 250_000),
                    events.person_updated(p, 250_000, ["phone", "name", "guardian"]),
                    events.person_reactivated(p, 250_000)):
        wire, text = message.SerializeToString(), str(message)
        for secret in secrets:
            assert secret.encode() not in wire and secret not in text, (secret, message)


def test_the_contact_carries_how_to_reach_the_person_and_an_archive_erases_it() -> None:
    contact = events.person_contact(person())
    assert (contact.person_id, contact.name, contact.phone, contact.preferred_channel) == (
        "5b0f7c1e-3f7a-4d55-9a35-2f1e8f0c9a10", "王芳", "13800138000", 2)
    assert (contact.guardian_name, contact.guardian_phone, contact.erased) == (
        "王强", "13700137000", False)
    assert RESIDENT_ID.encode() not in contact.SerializeToString()
    assert events.person_contact(person(guardian=None)).guardian_phone == ""
    archived = person()
    archived.status, archived.archive_reason = ARCHIVED, DECEASED
    erased = events.person_contact(archived)
    assert erased == ev.PersonContact(person_id=archived.person_id, erased=True)
    assert set(events.CONTACT_FIELDS) == {"name", "phone", "preferred_channel", "guardian"}


def test_needs_changed_lists_added_and_removed_sorted() -> None:
    before = person()
    after = person(needs=[Need("transport"), Need("rehabilitation"), Need("assistive_device")])
    msg = events.needs_changed(before, after)
    assert list(msg.added) == ["assistive_device", "rehabilitation"]
    assert list(msg.removed) == ["home_sickbed"]
    assert list(msg.need_codes) == ["transport", "rehabilitation", "assistive_device"]


def test_verification_recorded_and_household_changed() -> None:
    at = datetime(2025, 6, 3, 2, 0, tzinfo=UTC)
    msg = events.verification_recorded(person(), at, "w-002")
    assert msg.verified_at.ToDatetime(tzinfo=UTC) == at
    assert msg.verifier_id == "w-002"
    h = Household("h-1", "g01", "/1101/110105/g01/", "某路1号", 120_000)
    changed = events.household_changed(h)
    assert (changed.household_id, changed.monthly_income_fen) == ("h-1", 120_000)
    assert "某路1号" not in str(changed)
