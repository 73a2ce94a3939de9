"""The resident ID number (GB 11643) and the disability certificate number built on it.

A resident ID is 18 characters: a 6-digit registration area code, the birth date as YYYYMMDD, a
3-digit sequence whose last digit is odd for men and even for women, and a check character
(ISO 7064 MOD 11-2), which may be 'X'. The second-generation disability certificate number is the
resident ID followed by the category digit (1 visual .. 7 multiple) and the grade digit (1..4).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
EARLIEST_BIRTH = date(1900, 1, 1)
MALE, FEMALE = 1, 2
SHAPE = re.compile(r"[0-9]{17}[0-9X]")


class InvalidNumber(ValueError):
    """Why a resident ID or certificate number is wrong (never containing the number itself)."""


@dataclass(frozen=True)
class ResidentId:
    number: str
    area_code: str
    birth_date: date
    sex: int  # MALE or FEMALE

    def age_on(self, day: date) -> int:
        return age_on(self.birth_date, day)


def age_on(born: date, day: date) -> int:
    """Completed years of age on `day` (someone born on 29 February ages on 1 March)."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def birthday(born: date, age: int) -> date:
    """The day someone born on `born` turns `age` (as age_on counts: 29 February → 1 March)."""
    try:
        return born.replace(year=born.year + age)
    except ValueError:
        return date(born.year + age, 3, 1)


def born_by(day: date, age: int) -> date:
    """The latest birth date of someone at least `age` years old on `day`."""
    try:
        return day.replace(year=day.year - age)
    except ValueError:  # 29 February, `age` years earlier in a common year
        return date(day.year - age, 2, 28)


def check_char(first17: str) -> str:
    """The MOD 11-2 check character for the first 17 digits."""
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def parse_resident_id(value: str, today: date) -> ResidentId:
    number = value.strip().upper()
    if len(number) != 18:
        raise InvalidNumber(f"must be 18 characters, got {len(number)}")
    if not SHAPE.fullmatch(number):
        raise InvalidNumber("must be 17 digits followed by a digit or X")
    if number[0] == "0":
        raise InvalidNumber("area code cannot start with 0")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidNumber("embedded birth date is not a real date") from None
    if born < EARLIEST_BIRTH or born > today:
        raise InvalidNumber("embedded birth date is before 1900 or in the future")
    if check_char(number[:17]) != number[17]:
        raise InvalidNumber("check digit does not match (GB 11643 MOD 11-2)")
    return ResidentId(number=number, area_code=number[:6], birth_date=born,
                      sex=MALE if int(number[16]) % 2 == 1 else FEMALE)


CATEGORY_DIGITS = range(1, 8)
GRADE_DIGITS = range(1, 5)


def certificate_number(resident_id: str, category: int, grade: int) -> str:
    if category not in CATEGORY_DIGITS or grade not in GRADE_DIGITS:
        raise InvalidNumber("category must be 1-7 and grade 1-4 for a certificate")
    return f"{resident_id}{category}{grade}"


def check_certificate(value: str, resident_id: str, category: int, grade: int) -> None:
    """Raises InvalidNumber unless value = resident ID + category digit + grade digit."""
    number = value.strip().upper()
    if category not in CATEGORY_DIGITS or grade not in GRADE_DIGITS:
        raise InvalidNumber("category must be 1-7 and grade 1-4 for a certificate")
    if len(number) != 20:
        raise InvalidNumber(f"must be 20 characters (resident ID + category + grade), "
                            f"got {len(number)}")
    if number[:18] != resident_id:
        raise InvalidNumber("first 18 characters must be the person's resident ID")
    if number[18] != str(category):
        raise InvalidNumber(f"19th character must be the category digit {category}")
    if number[19] != str(grade):
        raise InvalidNumber(f"20th character must be the grade digit {grade}")
