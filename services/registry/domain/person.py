"""The person record (一人一档) and its rules."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from datetime import date, datetime

from registry.domain.contact import CHANNELS, PHONE_CHANNELS, Guardian, Liaison, is_phone
from registry.domain.resident_id import (
    InvalidNumber,
    certificate_number,
    check_certificate,
    parse_resident_id,
)
from runtime.errors import FailedPrecondition, Violations

CATEGORIES = range(1, 8)  # GB/T 26341: 1 visual .. 7 multiple
MULTIPLE = 7
GRADES = range(1, 5)      # 1 most severe .. 4
ALONE, WITH_FAMILY, IN_INSTITUTION = 1, 2, 3
LIVING_SITUATIONS = (ALONE, WITH_FAMILY, IN_INSTITUTION)
ACTIVE, ARCHIVED = 1, 2
MOVED_OUT, DECEASED = 1, 2
UNCERTIFIED_MAX_AGE = 3   # uncertified children are registered under this age only
NEED_CODE = re.compile(r"[a-z][a-z0-9_]{1,39}")

# Groups the registry derives itself; the others are assigned by workers.
DISABLED_CHILDREN = "disabled_children"
ELDERLY_LIVING_ALONE = "elderly_living_alone"
MULTIPLE_DISABILITIES = "multiple_disabilities"
DEFAULT_PRIORITY_GROUPS = (DISABLED_CHILDREN, ELDERLY_LIVING_ALONE, MULTIPLE_DISABILITIES,
                           "single_parent_disabled_children", "seriously_ill",
                           "severe_mental_illness")

# Fields UpdatePerson may change (field-mask paths).
UPDATABLE = ("name", "category", "grade", "certificate_number", "certified", "household_id",
             "phone", "preferred_channel", "guardian", "liaison", "living_situation",
             "priority_groups", "needs")


@dataclass(frozen=True)
class Need:
    code: str
    description: str = ""


@dataclass
class Person:
    person_id: str
    name: str
    resident_id: str
    category: int
    grade: int
    certified: bool
    certificate_number: str
    household_id: str
    jurisdiction_path: str
    phone: str
    preferred_channel: int
    guardian: Guardian | None
    liaison: Liaison | None
    living_situation: int
    priority_groups: list[str]
    needs: list[Need]
    sex: int = 0
    birth_date: date = date(1900, 1, 1)
    status: int = ACTIVE
    archive_reason: int = 0
    last_verified_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 0

    # ------------------------------------------------------------------ rules

    def validate(self, today: date, allowed_groups: tuple[str, ...],
                 was_certified: bool | None = None) -> None:
        """Checks every rule, reports every bad field at once, and derives sex, birth date,
        certificate number and the derivable priority groups.

        `was_certified` is the stored record's value when an existing record is checked (None:
        a new one). The under-3 rule holds when a person becomes uncertified (registered so,
        or changed from certified), not afterwards: a child registered uncertified who turns 3
        stays a valid record (their certificate application is due, see ListCertificationDue),
        so other changes to it still work."""
        v = Violations()
        self.name = self.name.strip()
        v.check(0 < len(self.name) <= 50, "name", "required, at most 50 characters")
        rid = None
        try:
            rid = parse_resident_id(self.resident_id, today)
            self.resident_id, self.sex, self.birth_date = rid.number, rid.sex, rid.birth_date
        except InvalidNumber as exc:
            v.add("resident_id", str(exc))
        v.check(self.category in CATEGORIES, "category", "must be one of the 7 categories (1-7)")
        if self.certified:
            v.check(self.grade in GRADES, "grade", "must be 1 (most severe) to 4")
            if rid and self.category in CATEGORIES and self.grade in GRADES:
                if self.certificate_number:
                    try:
                        check_certificate(self.certificate_number, rid.number, self.category,
                                          self.grade)
                        self.certificate_number = self.certificate_number.strip().upper()
                    except InvalidNumber as exc:
                        v.add("certificate_number", str(exc))
                else:
                    self.certificate_number = certificate_number(rid.number, self.category,
                                                                 self.grade)
        else:
            v.check(self.grade == 0 or self.grade in GRADES, "grade", "must be 0 to 4")
            v.check(not self.certificate_number, "certificate_number",
                    "must be empty when the person is not certified")
            if rid is not None and was_certified is not False:
                v.check(rid.age_on(today) < UNCERTIFIED_MAX_AGE, "certified",
                        "only children under 3 may be registered without a certificate")
        v.check(bool(self.household_id), "household_id", "required")
        if self.phone:
            v.check(is_phone(self.phone), "phone",
                    "must be a mainland mobile (11 digits) or a landline with area code")
        v.check(self.preferred_channel in CHANNELS, "preferred_channel",
                "must be one of the contact channels")
        if self.preferred_channel in PHONE_CHANNELS:
            v.check(bool(self.phone or (self.guardian and self.guardian.phone)),
                    "preferred_channel", "phone or SMS needs a phone number (own or guardian's)")
        if self.guardian is not None:
            v.check(bool(self.guardian.name.strip()), "guardian.name", "required")
            v.check(is_phone(self.guardian.phone), "guardian.phone", "must be a valid phone")
        if self.liaison is None or not self.liaison.worker_id.strip():
            v.add("liaison.worker_id", "every person has a liaison (一人一联系员)")
        elif self.liaison.phone:
            v.check(is_phone(self.liaison.phone), "liaison.phone", "must be a valid phone")
        v.check(self.living_situation in LIVING_SITUATIONS, "living_situation",
                "must be alone, with family or in an institution")
        for i, group in enumerate(self.priority_groups):
            v.check(group in allowed_groups, f"priority_groups[{i}]",
                    f"unknown group; one of {', '.join(allowed_groups)}")
        codes = [n.code for n in self.needs]
        for i, need in enumerate(self.needs):
            v.check(bool(NEED_CODE.fullmatch(need.code)), f"needs[{i}].code",
                    "lower-case letters, digits and _, 2-40 characters")
            v.check(len(need.description) <= 500, f"needs[{i}].description",
                    "at most 500 characters")
        v.check(len(codes) == len(set(codes)), "needs", "each need code at most once")
        v.raise_if_any()
        if rid is not None:
            self.priority_groups = derive_priority_groups(self, rid.age_on(today),
                                                          allowed_groups)

    def require_active(self) -> None:
        if self.status != ACTIVE:
            raise FailedPrecondition("the person is archived; an archived record cannot change")

    def require_version(self, expected: int) -> None:
        if expected != self.version:
            raise FailedPrecondition(f"version {expected} is stale: the record is at version "
                                     f"{self.version}; read it again and retry")

    def require_reactivable(self) -> None:
        if self.status == ACTIVE:
            raise FailedPrecondition("the person's record is active; only a record archived as "
                                     "moved out can be reactivated")
        if self.archive_reason == DECEASED:
            raise FailedPrecondition("a deceased person's record cannot be reactivated")
        if self.archive_reason != MOVED_OUT:
            raise FailedPrecondition("only a record archived as moved out can be reactivated")

    def reactivated(self, household_id: str, jurisdiction_path: str, today: date,
                    allowed_groups: tuple[str, ...]) -> Person:
        """A copy of a record archived as moved out, active again in the household the person
        lives in now, checked with today's rules as an existing record (an uncertified child who
        turned 3 while away is not refused: their certificate is due). Everything else, the last
        verification included, is kept; the version is the caller's to advance, as on updates."""
        self.require_reactivable()
        candidate = replace(self, household_id=household_id, jurisdiction_path=jurisdiction_path,
                            status=ACTIVE, archive_reason=0,
                            priority_groups=list(self.priority_groups), needs=list(self.needs))
        candidate.validate(today, allowed_groups, was_certified=self.certified)
        return candidate

    def updated(self, changes: dict[str, object], today: date,
                allowed_groups: tuple[str, ...]) -> tuple[Person, list[str]]:
        """A copy with `changes` applied and validated, and the names of the fields that
        actually changed."""
        candidate = replace(self, **changes)  # type: ignore[arg-type]
        candidate.validate(today, allowed_groups, was_certified=self.certified)
        changed = [f.name for f in fields(self) if f.name in UPDATABLE
                   and getattr(self, f.name) != getattr(candidate, f.name)]
        return candidate, changed

    @property
    def need_codes(self) -> list[str]:
        return [n.code for n in self.needs]


def derive_priority_groups(person: Person, age: int, allowed: tuple[str, ...]) -> list[str]:
    """The person's groups with the derivable ones made true to the facts at `age`."""
    groups = list(dict.fromkeys(person.priority_groups))
    derived = {
        DISABLED_CHILDREN: age < 18,
        ELDERLY_LIVING_ALONE: age >= 60 and person.living_situation == ALONE,
        MULTIPLE_DISABILITIES: person.category == MULTIPLE,
    }
    for group, applies in derived.items():
        if group not in allowed:
            continue
        if applies and group not in groups:
            groups.append(group)
        elif not applies and group in groups:
            groups.remove(group)
    return sorted(groups)
