"""Resident ID numbers (GB 11643, MOD 11-2) and disability certificate numbers."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.domain.resident_id import (
    FEMALE,
    MALE,
    InvalidNumber,
    ResidentId,
    age_on,
    birthday,
    born_by,
    certificate_number,
    check_certificate,
    check_char,
    parse_resident_id,
)

TODAY = date(2025, 6, 15)
PROPERTY = settings(max_examples=200, deadline=None)

area_codes = st.integers(100000, 999999).map(str)
birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
sequences = st.integers(0, 999).map(lambda n: f"{n:03d}")
check_chars = st.sampled_from("0123456789X")


def with_check(first17: str) -> str:
    return first17 + check_char(first17)


def build(area: str, born: date, seq: str) -> str:
    return with_check(f"{area}{born:%Y%m%d}{seq}")


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    return build(draw(area_codes), draw(birth_dates), draw(sequences))


@st.composite
def resident_ids_ending_in_x(draw: st.DrawFn) -> str:
    area, born, start = draw(area_codes), draw(birth_dates), draw(st.integers(0, 999))
    # About one sequence in eleven gives 'X': take the first from a random starting point.
    return next(number for n in range(start, start + 1000)
                if (number := build(area, born, f"{n % 1000:03d}")).endswith("X"))


# ------------------------------------------------------------------ check character


def test_check_char_of_the_standard_example() -> None:
    assert check_char("11010519491231002") == "X"


def test_known_example_is_a_woman_born_on_new_years_eve_1949() -> None:
    rid = parse_resident_id("11010519491231002X", TODAY)
    assert rid == ResidentId(number="11010519491231002X", area_code="110105",
                             birth_date=date(1949, 12, 31), sex=FEMALE)


@PROPERTY
@given(area=area_codes, born=birth_dates, seq=sequences)
def test_generated_ids_parse_to_their_parts(area: str, born: date, seq: str) -> None:
    number = build(area, born, seq)
    rid = parse_resident_id(number, TODAY)
    assert rid.number == number
    assert rid.area_code == area
    assert rid.birth_date == born
    assert rid.sex == (MALE if int(seq[-1]) % 2 == 1 else FEMALE)


@PROPERTY
@given(number=resident_ids(), position=st.integers(0, 16), delta=st.integers(1, 9))
def test_changing_any_one_of_the_first_17_digits_breaks_the_check(
        number: str, position: int, delta: int) -> None:
    new_digit = str((int(number[position]) + delta) % 10)
    mutated = number[:position] + new_digit + number[position + 1:]
    assert mutated != number
    assert check_char(mutated[:17]) != number[17]
    with pytest.raises(InvalidNumber):
        parse_resident_id(mutated, TODAY)


@PROPERTY
@given(number=resident_ids(), wrong=check_chars)
def test_a_wrong_check_char_is_rejected(number: str, wrong: str) -> None:
    if wrong == number[17]:
        wrong = "0" if wrong == "X" else "X" if wrong == "9" else str(int(wrong) + 1)
    with pytest.raises(InvalidNumber, match="check digit"):
        parse_resident_id(number[:17] + wrong, TODAY)


@PROPERTY
@given(number=resident_ids_ending_in_x())
def test_lowercase_x_is_accepted_and_normalised(number: str) -> None:
    rid = parse_resident_id(number.lower(), TODAY)
    assert rid.number == number
    assert rid.number.endswith("X")


def test_surrounding_whitespace_is_ignored() -> None:
    assert parse_resident_id("  11010519491231002x\n", TODAY).number == "11010519491231002X"


@PROPERTY
@given(number=st.text(alphabet="0123456789", max_size=40).filter(lambda s: len(s) != 18))
def test_lengths_other_than_18_are_rejected(number: str) -> None:
    with pytest.raises(InvalidNumber, match="18 characters") as exc:
        parse_resident_id(number, TODAY)
    if len(number) >= 6:
        assert number not in str(exc.value)


@pytest.mark.parametrize("bad", [
    "11010519491231002",      # 17
    "11010519491231002X1",    # 19
    "",
])
def test_examples_of_wrong_length(bad: str) -> None:
    with pytest.raises(InvalidNumber):
        parse_resident_id(bad, TODAY)


@pytest.mark.parametrize("bad", [
    "1101051949123100AX",     # letter among the first 17
    "11010519491231002Y",     # check char neither digit nor X
    "X10105194912310021",     # X not in last place
])
def test_non_digits_are_rejected(bad: str) -> None:
    with pytest.raises(InvalidNumber):
        parse_resident_id(bad, TODAY)


def test_area_code_cannot_start_with_zero() -> None:
    with pytest.raises(InvalidNumber, match="area code"):
        parse_resident_id(with_check("01010519491231002"), TODAY)


@pytest.mark.parametrize("birth", ["19990230", "20230229", "19001301", "19000100", "19990431"])
def test_birth_dates_that_do_not_exist_are_rejected(birth: str) -> None:
    with pytest.raises(InvalidNumber, match="not a real date"):
        parse_resident_id(with_check(f"350502{birth}001"), TODAY)


def test_leap_day_in_a_leap_year_is_a_real_date() -> None:
    assert parse_resident_id(with_check("35050220000229001"), TODAY).birth_date == date(2000, 2,
                                                                                         29)


@pytest.mark.parametrize("born", [date(1899, 12, 31), TODAY + timedelta(days=1),
                                  date(2099, 1, 1)])
def test_birth_dates_before_1900_or_in_the_future_are_rejected(born: date) -> None:
    with pytest.raises(InvalidNumber, match="before 1900 or in the future"):
        parse_resident_id(build("350502", born, "001"), TODAY)


def test_born_today_and_on_1900_01_01_are_accepted() -> None:
    assert parse_resident_id(build("350502", TODAY, "001"), TODAY).birth_date == TODAY
    assert parse_resident_id(build("350502", date(1900, 1, 1), "001"),
                             TODAY).birth_date == date(1900, 1, 1)


@pytest.mark.parametrize("digit", ["\u0661", "\uff11"])  # Arabic-Indic one, full-width one
def test_non_ascii_digits_are_rejected(digit: str) -> None:
    # GB 11643 numbers are ASCII digits; str.isdigit() also accepts other scripts' digits.
    number = "11010519491231002X".replace("1", digit)
    with pytest.raises(InvalidNumber):
        parse_resident_id(number, TODAY)


def test_a_superscript_digit_is_an_invalid_number_not_a_crash() -> None:
    # '²'.isdigit() is True but int('²') fails: the error must still be InvalidNumber, which is
    # what callers catch to report a field violation.
    with pytest.raises(InvalidNumber):
        parse_resident_id("\u00b21010519491231002X", TODAY)


@PROPERTY
@given(number=resident_ids(), position=st.integers(0, 17),
       replacement=st.sampled_from("0123456789X"))
def test_messages_never_contain_the_number(number: str, position: int,
                                           replacement: str) -> None:
    candidate = number[:position] + replacement + number[position + 1:]
    try:
        parse_resident_id(candidate, TODAY)
    except InvalidNumber as exc:
        assert candidate not in str(exc)
        assert candidate[:17] not in str(exc)


# ------------------------------------------------------------------ age


def test_age_the_day_before_and_on_the_birthday() -> None:
    rid = parse_resident_id(build("350502", date(2000, 6, 15), "001"), TODAY)
    assert rid.age_on(date(2018, 6, 14)) == 17
    assert rid.age_on(date(2018, 6, 15)) == 18
    assert rid.age_on(date(2000, 6, 15)) == 0


def test_age_of_a_leap_day_birth() -> None:
    rid = parse_resident_id(build("350502", date(2000, 2, 29), "001"), TODAY)
    assert rid.age_on(date(2001, 2, 28)) == 0
    assert rid.age_on(date(2001, 3, 1)) == 1
    assert rid.age_on(date(2004, 2, 28)) == 3
    assert rid.age_on(date(2004, 2, 29)) == 4
    assert rid.age_on(date(2018, 2, 28)) == 17
    assert rid.age_on(date(2018, 3, 1)) == 18


@PROPERTY
@given(number=resident_ids(), years=st.integers(0, 120))
def test_age_grows_by_one_on_each_birthday(number: str, years: int) -> None:
    rid = parse_resident_id(number, TODAY)
    born = rid.birth_date
    if (born.month, born.day) == (2, 29):
        return  # covered by test_age_of_a_leap_day_birth
    birthday = born.replace(year=born.year + years)
    assert rid.age_on(birthday) == years
    assert rid.age_on(birthday - timedelta(days=1)) == years - 1


def test_birthdays_and_latest_birth_dates_of_a_leap_day() -> None:
    assert birthday(date(2024, 2, 29), 3) == date(2027, 3, 1)
    assert birthday(date(2024, 2, 29), 4) == date(2028, 2, 29)
    assert born_by(date(2027, 2, 28), 3) == date(2024, 2, 28)   # 29 Feb 2024 is 2 that day
    assert born_by(date(2027, 3, 1), 3) == date(2024, 3, 1)
    assert born_by(date(2028, 2, 29), 3) == date(2025, 2, 28)


@PROPERTY
@given(born=st.dates(date(1900, 1, 1), date(2090, 12, 31)),
       day=st.dates(date(1900, 1, 1), date(2100, 12, 31)), age=st.integers(0, 10))
def test_birthday_and_born_by_agree_with_age_on(born: date, day: date, age: int) -> None:
    """Someone is at least `age` on `day` exactly when born by born_by(day, age), and exactly
    from birthday(born, age) on."""
    assert (age_on(born, day) >= age) == (born <= born_by(day, age))
    assert (age_on(born, day) >= age) == (day >= birthday(born, age))


# ------------------------------------------------------------------ certificates


@PROPERTY
@given(number=resident_ids(), category=st.integers(0, 9), grade=st.integers(0, 9))
def test_certificate_is_id_plus_valid_category_and_grade(number: str, category: int,
                                                         grade: int) -> None:
    cert = f"{number}{category}{grade}"
    if 1 <= category <= 7 and 1 <= grade <= 4:
        assert certificate_number(number, category, grade) == cert
        check_certificate(cert, number, category, grade)
        check_certificate(cert.lower(), number, category, grade)
    else:
        with pytest.raises(InvalidNumber):
            certificate_number(number, category, grade)
        with pytest.raises(InvalidNumber) as exc:
            check_certificate(cert, number, category, grade)
        assert number not in str(exc.value)


@PROPERTY
@given(number=resident_ids(), category=st.integers(1, 7), grade=st.integers(1, 4),
       cert_category=st.integers(0, 9), cert_grade=st.integers(0, 9))
def test_certificate_digits_must_match_the_person(number: str, category: int, grade: int,
                                                  cert_category: int, cert_grade: int) -> None:
    cert = f"{number}{cert_category}{cert_grade}"
    if (cert_category, cert_grade) == (category, grade):
        check_certificate(cert, number, category, grade)
        return
    with pytest.raises(InvalidNumber) as exc:
        check_certificate(cert, number, category, grade)
    assert number not in str(exc.value)
    assert cert not in str(exc.value)


@PROPERTY
@given(number=resident_ids(), other=resident_ids(), category=st.integers(1, 7),
       grade=st.integers(1, 4))
def test_certificate_of_another_resident_is_rejected(number: str, other: str, category: int,
                                                     grade: int) -> None:
    if other == number:
        return
    cert = certificate_number(other, category, grade)
    with pytest.raises(InvalidNumber, match="resident ID") as exc:
        check_certificate(cert, number, category, grade)
    assert number not in str(exc.value)
    assert other not in str(exc.value)


@PROPERTY
@given(number=resident_ids(), category=st.integers(1, 7), grade=st.integers(1, 4),
       cut=st.integers(0, 19), extra=st.text(alphabet="0123456789", min_size=1, max_size=5))
def test_certificate_of_wrong_length_is_rejected(number: str, category: int, grade: int,
                                                 cut: int, extra: str) -> None:
    cert = certificate_number(number, category, grade)
    for bad in (cert[:cut], cert + extra):
        with pytest.raises(InvalidNumber, match="20 characters") as exc:
            check_certificate(bad, number, category, grade)
        assert number not in str(exc.value)


def test_certificate_of_the_known_example() -> None:
    check_certificate("11010519491231002x71", "11010519491231002X", 7, 1)
    with pytest.raises(InvalidNumber):
        check_certificate("11010519491231002X71", "11010519491231002X", 7, 2)
