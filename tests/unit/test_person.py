"""Person.validate and the record's other rules."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.domain.contact import Guardian, Liaison
from registry.domain.person import (
    ACTIVE,
    ALONE,
    ARCHIVED,
    DECEASED,
    DEFAULT_PRIORITY_GROUPS,
    DISABLED_CHILDREN,
    ELDERLY_LIVING_ALONE,
    IN_INSTITUTION,
    MOVED_OUT,
    MULTIPLE_DISABILITIES,
    WITH_FAMILY,
    Need,
    Person,
)
from registry.domain.resident_id import FEMALE, MALE, check_char
from runtime.errors import FailedPrecondition, InvalidArgument

TODAY = date(2025, 6, 15)
ALLOWED = DEFAULT_PRIORITY_GROUPS
PROPERTY = settings(max_examples=200, deadline=None)
SMS, APP = 2, 3
PHONE_CALL = 1


def rid(born: date, seq: str = "001", area: str = "350502") -> str:
    first17 = f"{area}{born:%Y%m%d}{seq}"
    return first17 + check_char(first17)


ADULT_ID = rid(date(1980, 3, 10), "001")          # a man, 45 on TODAY


def make_person(**overrides: Any) -> Person:
    fields: dict[str, Any] = {
        "person_id": "5b0f7c1e-3f7a-4d55-9a35-2f1e8f0c9a10",
        "name": "张三",
        "resident_id": ADULT_ID,
        "category": 4,
        "grade": 2,
        "certified": True,
        "certificate_number": "",
        "household_id": "0d6f9b52-8d7e-4b1b-9f0e-5c6f7a8b9c0d",
        "jurisdiction_path": "/3505/350502/350502001/",
        "phone": "13800138000",
        "preferred_channel": SMS,
        "guardian": None,
        "liaison": Liaison(worker_id="w-001", name="李四", phone="13900139000"),
        "living_situation": WITH_FAMILY,
        "priority_groups": [],
        "needs": [Need("rehabilitation", "weekly physiotherapy")],
    }
    fields.update(overrides)
    return Person(**fields)


def violation_fields(person: Person, today: date = TODAY,
                     allowed: tuple[str, ...] = ALLOWED) -> set[str]:
    with pytest.raises(InvalidArgument) as exc:
        person.validate(today, allowed)
    return {v.field for v in exc.value.violations}


def years_before(day: date, years: int) -> date:
    return day.replace(year=day.year - years)


# ------------------------------------------------------------------ the valid case


def test_a_certified_adult_is_valid_and_gets_derived_fields() -> None:
    person = make_person()
    person.validate(TODAY, ALLOWED)
    assert person.sex == MALE
    assert person.birth_date == date(1980, 3, 10)
    assert person.certificate_number == ADULT_ID + "42"
    assert person.priority_groups == []


def test_resident_id_is_normalised_and_the_name_trimmed() -> None:
    number = "11010519491231002X"
    person = make_person(resident_id=" 11010519491231002x ", name="  王芳 ")
    person.validate(TODAY, ALLOWED)
    assert person.resident_id == number
    assert person.sex == FEMALE
    assert person.name == "王芳"


def test_a_consistent_certificate_is_kept_upper_case() -> None:
    number = "11010519491231002X"
    person = make_person(resident_id=number, category=7, grade=1,
                         certificate_number="11010519491231002x71")
    person.validate(TODAY, ALLOWED)
    assert person.certificate_number == "11010519491231002X71"


# ------------------------------------------------------------------ all violations at once


def test_every_bad_field_is_reported_at_once() -> None:
    person = make_person(
        name=" ",
        resident_id="123",
        category=9,
        grade=7,
        household_id="",
        phone="12345",
        preferred_channel=9,
        guardian=Guardian(name="", phone="555", relation="mother"),
        liaison=None,
        living_situation=0,
        priority_groups=["vip"],
        needs=[Need("X"), Need("ok_code", "d" * 501)],
    )
    assert violation_fields(person) == {
        "name", "resident_id", "category", "grade", "household_id", "phone",
        "preferred_channel", "guardian.name", "guardian.phone", "liaison.worker_id",
        "living_situation", "priority_groups[0]", "needs[0].code", "needs[1].description",
    }


def test_invalid_argument_message_names_no_resident_id() -> None:
    person = make_person(resident_id=ADULT_ID[:17] + ("0" if ADULT_ID[17] != "0" else "1"))
    with pytest.raises(InvalidArgument) as exc:
        person.validate(TODAY, ALLOWED)
    assert [v.field for v in exc.value.violations] == ["resident_id"]
    assert ADULT_ID[:17] not in str(exc.value)


@pytest.mark.parametrize("name", ["", "   ", "名" * 51])
def test_name_is_required_and_at_most_50_characters(name: str) -> None:
    assert violation_fields(make_person(name=name)) == {"name"}


def test_name_of_50_characters_is_accepted() -> None:
    make_person(name="名" * 50).validate(TODAY, ALLOWED)


@pytest.mark.parametrize("category", [0, 8, -1])
def test_category_must_be_one_of_seven(category: int) -> None:
    assert "category" in violation_fields(make_person(category=category))


# ------------------------------------------------------------------ certification


def uncertified_child(born: date, **overrides: Any) -> Person:
    values: dict[str, Any] = {"resident_id": rid(born, "004"), "certified": False, "grade": 0,
                              "certificate_number": "",
                              "guardian": Guardian("王母", "13700137000", "mother")}
    values.update(overrides)
    return make_person(**values)


def test_uncertified_child_of_two_years_364_days_is_accepted() -> None:
    born = years_before(TODAY, 3) + timedelta(days=1)
    person = uncertified_child(born)
    person.validate(TODAY, ALLOWED)
    assert person.certificate_number == ""
    assert DISABLED_CHILDREN in person.priority_groups


def test_uncertified_child_of_exactly_three_is_rejected() -> None:
    assert violation_fields(uncertified_child(years_before(TODAY, 3))) == {"certified"}


@PROPERTY
@given(born=st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
def test_only_children_under_three_may_be_uncertified(born: date) -> None:
    person = uncertified_child(born)
    under_three = born > years_before(TODAY, 3)
    if under_three:
        person.validate(TODAY, ALLOWED)
    else:
        assert violation_fields(person) == {"certified"}


def test_an_uncertified_child_who_turned_three_can_still_be_changed() -> None:
    """The under-3 rule holds when a person becomes uncertified, not on every later change: a
    child registered uncertified who has turned 3 (their certificate is due) stays a valid
    record that other changes can still reach."""
    child = uncertified_child(TODAY - timedelta(days=400))
    child.validate(TODAY, ALLOWED)
    later = years_before(TODAY, -3)
    assert violation_fields(child, later) == {"certified"}   # as a new record: refused
    copy, changed = child.updated({"phone": "13800138001"}, later, ALLOWED)
    assert changed == ["phone"] and not copy.certified
    copy, _ = child.updated({"certified": True, "grade": 2}, later, ALLOWED)  # at last
    assert copy.certified and copy.certificate_number == child.resident_id + "42"


def test_becoming_uncertified_is_for_children_under_three_only() -> None:
    adult = make_person()
    adult.validate(TODAY, ALLOWED)
    with pytest.raises(InvalidArgument) as exc:
        adult.updated({"certified": False, "certificate_number": "", "grade": 0}, TODAY, ALLOWED)
    assert {v.field for v in exc.value.violations} == {"certified"}
    baby = uncertified_child(TODAY - timedelta(days=100))
    baby.validate(TODAY, ALLOWED)
    certified, _ = baby.updated({"certified": True, "grade": 2}, TODAY, ALLOWED)
    uncertified, changed = certified.updated({"certified": False, "certificate_number": "",
                                              "grade": 0}, TODAY, ALLOWED)
    assert not uncertified.certified and "certified" in changed


def test_uncertified_child_may_have_a_grade_but_not_beyond_4() -> None:
    born = TODAY - timedelta(days=100)
    uncertified_child(born, grade=3).validate(TODAY, ALLOWED)
    assert violation_fields(uncertified_child(born, grade=5)) == {"grade"}


def test_uncertified_person_must_not_have_a_certificate_number() -> None:
    born = TODAY - timedelta(days=100)
    number = rid(born, "004")
    person = uncertified_child(born, certificate_number=number + "41")
    assert violation_fields(person) == {"certificate_number"}


@pytest.mark.parametrize("grade", [0, 5, -1])
def test_certified_person_needs_grade_1_to_4(grade: int) -> None:
    assert violation_fields(make_person(grade=grade)) == {"grade"}


@pytest.mark.parametrize("certificate", [
    ADULT_ID + "32",                                  # another category
    ADULT_ID + "43",                                  # another grade
    rid(date(1980, 3, 10), "003") + "42",             # another resident
    ADULT_ID + "4",                                   # too short
    ADULT_ID + "421",                                 # too long
])
def test_inconsistent_certificate_is_a_violation_on_certificate_number(certificate: str) -> None:
    assert violation_fields(make_person(certificate_number=certificate)) == {"certificate_number"}


# ------------------------------------------------------------------ contact


@pytest.mark.parametrize("phone", ["13800138000", "19912345678", "15000000000",
                                   "010-12345678", "0592-1234567", "05921234567"])
def test_valid_phone_formats(phone: str) -> None:
    make_person(phone=phone).validate(TODAY, ALLOWED)


@pytest.mark.parametrize("phone", ["12800138000", "1380013800", "138001380001", "23800138000",
                                   "10-12345678", "0592-123456", "0592-123456789", "phone",
                                   "138 0013 8000"])
def test_invalid_phone_formats(phone: str) -> None:
    assert violation_fields(make_person(phone=phone)) == {"phone"}


def test_phone_with_a_trailing_newline_is_rejected() -> None:
    # A number followed by a line break is not a phone number ("$" also matches before "\n").
    assert violation_fields(make_person(phone="13800138000\n")) == {"phone"}


@PROPERTY
@given(second=st.sampled_from("3456789"), rest=st.text(alphabet="0123456789", min_size=9,
                                                       max_size=9))
def test_any_mainland_mobile_is_accepted(second: str, rest: str) -> None:
    make_person(phone="1" + second + rest).validate(TODAY, ALLOWED)


@pytest.mark.parametrize("channel", [PHONE_CALL, SMS])
def test_phone_channels_need_a_phone_number(channel: int) -> None:
    person = make_person(phone="", preferred_channel=channel, guardian=None)
    assert violation_fields(person) == {"preferred_channel"}


@pytest.mark.parametrize("channel", [PHONE_CALL, SMS])
def test_phone_channels_may_use_the_guardians_phone(channel: int) -> None:
    make_person(phone="", preferred_channel=channel,
                guardian=Guardian("王母", "0592-1234567", "mother")).validate(TODAY, ALLOWED)


def test_other_channels_need_no_phone() -> None:
    make_person(phone="", preferred_channel=APP).validate(TODAY, ALLOWED)


@pytest.mark.parametrize("channel", [0, 6])
def test_unknown_channel_is_rejected(channel: int) -> None:
    assert violation_fields(make_person(preferred_channel=channel)) == {"preferred_channel"}


def test_guardian_phone_must_be_valid() -> None:
    person = make_person(guardian=Guardian("王母", "12345", "mother"))
    assert violation_fields(person) == {"guardian.phone"}


def test_guardian_phone_is_required_when_a_guardian_is_named() -> None:
    person = make_person(guardian=Guardian("王母", "", "mother"))
    assert violation_fields(person) == {"guardian.phone"}


@pytest.mark.parametrize("liaison", [None, Liaison(worker_id="  ", name="李四", phone="")])
def test_every_person_has_a_liaison(liaison: Liaison | None) -> None:
    assert violation_fields(make_person(liaison=liaison)) == {"liaison.worker_id"}


def test_liaison_phone_is_optional_but_must_be_valid() -> None:
    make_person(liaison=Liaison("w-001", "李四", "")).validate(TODAY, ALLOWED)
    assert violation_fields(make_person(liaison=Liaison("w-001", "李四", "99"))) == {
        "liaison.phone"}


@pytest.mark.parametrize("situation", [0, 4])
def test_living_situation_must_be_known(situation: int) -> None:
    assert violation_fields(make_person(living_situation=situation)) == {"living_situation"}


# ------------------------------------------------------------------ groups and needs


def test_unknown_priority_group_is_rejected() -> None:
    person = make_person(priority_groups=["seriously_ill", "vip"])
    assert violation_fields(person) == {"priority_groups[1]"}


def test_priority_group_outside_the_configured_list_is_rejected() -> None:
    person = make_person(priority_groups=["severe_mental_illness"])
    assert violation_fields(person, allowed=("seriously_ill",)) == {"priority_groups[0]"}


def test_duplicate_need_codes_are_rejected() -> None:
    person = make_person(needs=[Need("rehabilitation"), Need("transport"),
                                Need("rehabilitation", "again")])
    assert violation_fields(person) == {"needs"}


@pytest.mark.parametrize("code", ["a", "Rehab", "1rehab", "re-hab", "r" * 41, "",
                                  "rehab\n"])
def test_need_codes_are_lower_case_identifiers(code: str) -> None:
    assert violation_fields(make_person(needs=[Need(code)])) == {"needs[0].code"}


def test_worker_assigned_groups_are_kept_deduplicated_and_sorted() -> None:
    person = make_person(priority_groups=["seriously_ill", "severe_mental_illness",
                                          "seriously_ill"])
    person.validate(TODAY, ALLOWED)
    assert person.priority_groups == ["seriously_ill", "severe_mental_illness"]


def test_child_is_in_disabled_children_until_18() -> None:
    born = date(2007, 6, 16)  # 18 on 2025-06-16
    person = make_person(resident_id=rid(born, "001"))
    person.validate(TODAY, ALLOWED)
    assert person.priority_groups == [DISABLED_CHILDREN]
    person.validate(date(2025, 6, 16), ALLOWED)
    assert person.priority_groups == []


def test_elderly_living_alone_from_60() -> None:
    born = date(1965, 6, 16)  # 60 on 2025-06-16
    person = make_person(resident_id=rid(born, "001"), living_situation=ALONE)
    person.validate(TODAY, ALLOWED)
    assert ELDERLY_LIVING_ALONE not in person.priority_groups
    person.validate(date(2025, 6, 16), ALLOWED)
    assert person.priority_groups == [ELDERLY_LIVING_ALONE]
    person.living_situation = IN_INSTITUTION
    person.validate(date(2025, 6, 16), ALLOWED)
    assert person.priority_groups == []


def test_derived_groups_are_not_added_when_not_configured() -> None:
    person = make_person(resident_id=rid(date(2015, 1, 1), "001"), category=7, grade=1)
    person.validate(TODAY, ("seriously_ill",))
    assert person.priority_groups == []


@PROPERTY
@given(born=st.dates(min_value=date(1900, 1, 1), max_value=TODAY - timedelta(days=3 * 366)),
       category=st.integers(1, 7),
       situation=st.sampled_from([ALONE, WITH_FAMILY, IN_INSTITUTION]),
       assigned=st.lists(st.sampled_from(ALLOWED), max_size=6))
def test_derived_groups_follow_the_facts(born: date, category: int, situation: int,
                                         assigned: list[str]) -> None:
    person = make_person(resident_id=rid(born, "001"), category=category,
                         living_situation=situation, priority_groups=list(assigned))
    person.validate(TODAY, ALLOWED)
    age = TODAY.year - born.year - ((TODAY.month, TODAY.day) < (born.month, born.day))
    groups = person.priority_groups
    assert (DISABLED_CHILDREN in groups) == (age < 18)
    assert (ELDERLY_LIVING_ALONE in groups) == (age >= 60 and situation == ALONE)
    assert (MULTIPLE_DISABILITIES in groups) == (category == 7)
    derived = {DISABLED_CHILDREN, ELDERLY_LIVING_ALONE, MULTIPLE_DISABILITIES}
    assert set(groups) - derived == set(assigned) - derived
    assert groups == sorted(set(groups))


# ------------------------------------------------------------------ updates


def validated(**overrides: Any) -> Person:
    person = make_person(**overrides)
    person.validate(TODAY, ALLOWED)
    return person


def test_updated_reports_only_fields_that_changed() -> None:
    person = validated()
    copy, changed = person.updated({"phone": "0592-1234567", "name": "张三"}, TODAY, ALLOWED)
    assert changed == ["phone"]
    assert copy.phone == "0592-1234567"
    assert person.phone == "13800138000"


def test_updated_with_the_same_values_changes_nothing() -> None:
    person = validated()
    copy, changed = person.updated({"name": "  张三  ", "category": 4,
                                    "needs": [Need("rehabilitation", "weekly physiotherapy")]},
                                   TODAY, ALLOWED)
    assert changed == []
    assert copy == person


def test_updated_rederives_certificate_and_groups() -> None:
    person = validated()
    before = (person.category, person.certificate_number, list(person.priority_groups))
    copy, changed = person.updated({"category": 7, "certificate_number": ""}, TODAY, ALLOWED)
    assert set(changed) == {"category", "certificate_number", "priority_groups"}
    assert copy.certificate_number == ADULT_ID + "72"
    assert copy.priority_groups == [MULTIPLE_DISABILITIES]
    assert (person.category, person.certificate_number, person.priority_groups) == before


def test_updated_removes_a_derived_group_when_the_fact_goes() -> None:
    person = validated(category=7)
    assert person.priority_groups == [MULTIPLE_DISABILITIES]
    copy, changed = person.updated({"category": 4, "certificate_number": ""}, TODAY, ALLOWED)
    assert copy.priority_groups == []
    assert "priority_groups" in changed
    assert person.priority_groups == [MULTIPLE_DISABILITIES]


def test_updated_with_a_bad_change_raises_and_leaves_the_original() -> None:
    person = validated()
    snapshot = make_person()
    snapshot.validate(TODAY, ALLOWED)
    with pytest.raises(InvalidArgument) as exc:
        person.updated({"phone": "bad", "liaison": None}, TODAY, ALLOWED)
    assert {v.field for v in exc.value.violations} == {"phone", "liaison.worker_id"}
    assert person == snapshot


def test_updated_does_not_share_mutated_lists_with_the_original() -> None:
    person = validated(priority_groups=["seriously_ill"])
    copy, _ = person.updated({"category": 7, "certificate_number": ""}, TODAY, ALLOWED)
    assert copy.priority_groups == ["multiple_disabilities", "seriously_ill"]
    assert person.priority_groups == ["seriously_ill"]


# ------------------------------------------------------------------ preconditions


def test_require_version() -> None:
    person = make_person(version=3)
    person.require_version(3)
    with pytest.raises(FailedPrecondition, match="version 2 is stale"):
        person.require_version(2)


def test_only_a_record_archived_as_moved_out_is_reactivated() -> None:
    with pytest.raises(FailedPrecondition, match="record is active"):
        validated().reactivated("h2", "/3505/g2/", TODAY, ALLOWED)
    with pytest.raises(FailedPrecondition, match="deceased"):
        validated(status=ARCHIVED, archive_reason=DECEASED).reactivated("h2", "/3505/g2/",
                                                                        TODAY, ALLOWED)
    moved = validated(status=ARCHIVED, archive_reason=MOVED_OUT, version=4)
    back = moved.reactivated("h2", "/3505/g2/", TODAY, ALLOWED)
    assert (back.status, back.archive_reason, back.household_id, back.jurisdiction_path) == (
        ACTIVE, 0, "h2", "/3505/g2/")
    assert back.version == 4 and back.needs == moved.needs  # the caller advances the version
    assert (moved.status, moved.household_id) == (ARCHIVED, "0d6f9b52-8d7e-4b1b-9f0e-5c6f7a8b9c0d")


def test_a_returning_uncertified_child_now_three_is_reactivated_with_todays_rules() -> None:
    child = uncertified_child(TODAY - timedelta(days=400), status=ARCHIVED,
                              archive_reason=MOVED_OUT)
    child.validate(TODAY, ALLOWED)
    later = years_before(TODAY, -3)
    back = child.reactivated("h2", "/3505/g2/", later, ALLOWED)
    assert back.status == ACTIVE and not back.certified
    grown = make_person(status=ARCHIVED, archive_reason=MOVED_OUT, phone="",
                        preferred_channel=SMS)   # a rule of today the record fails
    with pytest.raises(InvalidArgument):
        grown.reactivated("h2", "/3505/g2/", TODAY, ALLOWED)


def test_require_active() -> None:
    make_person().require_active()
    with pytest.raises(FailedPrecondition):
        make_person(status=ARCHIVED).require_active()


def test_need_codes() -> None:
    person = make_person(needs=[Need("transport"), Need("rehabilitation")])
    assert person.need_codes == ["transport", "rehabilitation"]
