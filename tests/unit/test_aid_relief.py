"""Temporary relief: yuan formatting, the community and the jurisdictions above a path, the cap of
a case, validating a grant, and the decision against the case's cap (over all its grants) and the
community's annual budget (pure code)."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aid.domain.relief import (
    ANNUAL_BUDGET,
    COMMUNITY_DEPTH,
    MAX_GRANT_FEN,
    PER_CASE_CAP,
    Decision,
    ancestor_paths,
    cap_fen,
    community_of,
    decide,
    no_standard_message,
    refusal_message,
    validate_grant,
    yuan,
)
from runtime.errors import InvalidArgument

FAST = settings(max_examples=200, deadline=None)
fens = st.integers(min_value=0, max_value=10**15)
COMMUNITY = "/3505/350502/350502001/350502001001/"
CAP = 139_500  # 1.5 x 930 yuan
CASE = "00000000-0000-4000-8000-0000000000c1"


# --- yuan --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("fen", "text"), [
    (0, "0.00"),
    (5, "0.05"),
    (10, "0.10"),
    (99, "0.99"),
    (100, "1.00"),
    (12_345, "123.45"),
    (93_000, "930.00"),
    (139_500, "1,395.00"),
    (100_000_000, "1,000,000.00"),
    (1_000_000_000, "10,000,000.00"),
    (123_456_789_012, "1,234,567,890.12"),
    (-1, "-0.01"),
    (-5, "-0.05"),
    (-99, "-0.99"),
    (-139_550, "-1,395.50"),
    # beyond float precision: still exact
    (9_007_199_254_740_993, "90,071,992,547,409.93"),
])
def test_yuan(fen: int, text: str) -> None:
    assert yuan(fen) == text


@FAST
@given(fen=st.integers(min_value=-(10**18), max_value=10**18))
def test_yuan_parses_back_exactly(fen: int) -> None:
    text = yuan(fen)
    assert Decimal(text.replace(",", "")) == Decimal(fen) / 100
    assert text.count(".") == 1
    assert len(text.split(".")[1]) == 2
    assert text.startswith("-") == (fen < 0)


@FAST
@given(fen=fens)
def test_yuan_groups_thousands(fen: int) -> None:
    whole = yuan(fen).split(".")[0]
    groups = whole.split(",")
    assert 1 <= len(groups[0]) <= 3
    assert all(len(g) == 3 for g in groups[1:])


# --- community_of ------------------------------------------------------------------------------

def test_community_depth() -> None:
    assert COMMUNITY_DEPTH == 4


@pytest.mark.parametrize("path", [
    COMMUNITY + "g01/",                  # a grid
    COMMUNITY + "g01/b07/",              # a building below it
    COMMUNITY,                           # the community itself
    COMMUNITY.rstrip("/"),               # without the trailing slash
    COMMUNITY + "g01",
])
def test_community_of(path: str) -> None:
    assert community_of(path) == COMMUNITY


@FAST
@given(codes=st.lists(st.text(alphabet="0123456789abcdefg", min_size=1, max_size=12),
                      min_size=4, max_size=7))
def test_community_of_takes_the_first_four_codes(codes: list[str]) -> None:
    path = "/" + "/".join(codes) + "/"
    community = community_of(path)
    assert community == "/" + "/".join(codes[:4]) + "/"
    assert path.startswith(community)
    assert community_of(community) == community  # idempotent


# --- ancestor_paths and cap_fen -----------------------------------------------------------------

@pytest.mark.parametrize(("path", "expected"), [
    ("/3505/", ["/3505/"]),
    ("/3505", ["/3505/"]),
    (COMMUNITY + "g01/", ["/3505/", "/3505/350502/", "/3505/350502/350502001/", COMMUNITY,
                          COMMUNITY + "g01/"]),
    ("/", []),
])
def test_ancestor_paths(path: str, expected: list[str]) -> None:
    assert ancestor_paths(path) == expected


@FAST
@given(codes=st.lists(st.text(alphabet="0123456789abc-", min_size=1, max_size=8), min_size=1,
                      max_size=6))
def test_every_ancestor_is_a_prefix_ending_in_a_slash(codes: list[str]) -> None:
    path = "/" + "/".join(codes) + "/"
    found = ancestor_paths(path)
    assert len(found) == len(codes) and found[-1] == path
    assert all(path.startswith(a) and a.endswith("/") for a in found)
    assert found == sorted(found, key=len)


@pytest.mark.parametrize(("standard", "permille", "cap"), [
    (93_000, 1500, 139_500),
    (95_000, 1500, 142_500),
    (101_000, 1200, 121_200),
    (93_001, 1500, 139_501),                       # 139,501.5 fen, rounded down
    (9_007_199_254_740_993, 1500, 13_510_798_882_111_489),  # beyond float precision
    (0, 1500, 0),
])
def test_cap_fen(standard: int, permille: int, cap: int) -> None:
    assert cap_fen(standard, permille) == cap


@FAST
@given(standard=st.integers(min_value=0, max_value=10**15),
       permille=st.integers(min_value=0, max_value=10_000))
def test_cap_is_floored_exactly(standard: int, permille: int) -> None:
    exact = (Decimal(standard) * permille / 1000).to_integral_value(ROUND_FLOOR)
    assert cap_fen(standard, permille) == int(exact)


def test_a_missing_standard_names_the_city_and_the_path() -> None:
    message = no_standard_message(COMMUNITY + "g01/")
    assert "no minimum living standard is known for city 3505" in message
    assert COMMUNITY + "g01/" in message and "registry" in message


# --- validate_grant ----------------------------------------------------------------------------

def grant_violations(amount: int, reason: str, case_id: str = CASE) -> set[str]:
    with pytest.raises(InvalidArgument) as exc:
        validate_grant(amount, reason, case_id)
    return {v.field for v in exc.value.violations}


@pytest.mark.parametrize("amount", [1, CAP, MAX_GRANT_FEN])
def test_valid_grants(amount: int) -> None:
    validate_grant(amount, "hospital bill", CASE)
    validate_grant(amount, "r" * 500, CASE.upper())


def test_max_grant() -> None:
    assert MAX_GRANT_FEN == 10_000_000 * 100


@pytest.mark.parametrize("amount", [0, -1, -139_500, MAX_GRANT_FEN + 1])
def test_bad_amount(amount: int) -> None:
    assert grant_violations(amount, "hospital bill") == {"amount_fen"}


@pytest.mark.parametrize("reason", ["", "   ", "\n\t", "r" * 501])
def test_bad_reason(reason: str) -> None:
    assert grant_violations(100, reason) == {"reason"}


@pytest.mark.parametrize(("case_id", "rule"), [
    ("", "required: the household's open aid case the relief is granted on"),
    ("case-1", "must be a UUID"),
    ("00000000-0000-4000-8000", "must be a UUID"),
])
def test_the_case_is_required(case_id: str, rule: str) -> None:
    with pytest.raises(InvalidArgument) as exc:
        validate_grant(100, "hospital bill", case_id)
    assert [(v.field, v.description) for v in exc.value.violations] == [("case_id", rule)]


def test_reason_is_measured_without_surrounding_whitespace() -> None:
    validate_grant(100, "  " + "r" * 500 + "\n", CASE)  # the service stores reason.strip()


def test_all_grant_violations_at_once() -> None:
    assert grant_violations(0, "", "") == {"amount_fen", "reason", "case_id"}
    with pytest.raises(InvalidArgument) as exc:
        validate_grant(-5, "r" * 501, CASE)
    assert "amount_fen" in exc.value.message
    assert "reason" in exc.value.message


# --- decide ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("amount", "granted", "remaining", "expected"), [
    (CAP, 0, 12_000_000, Decision(True)),
    (CAP + 1, 0, 12_000_000, Decision(False, PER_CASE_CAP, 1)),
    (200_000, 0, 12_000_000, Decision(False, PER_CASE_CAP, 60_500)),
    (50_000, 0, 50_000, Decision(True)),
    (50_001, 0, 50_000, Decision(False, ANNUAL_BUDGET, 1)),
    (100_000, 0, 0, Decision(False, ANNUAL_BUDGET, 100_000)),
    # both limits exceeded: the per-case cap is named
    (200_000, 0, 10_000, Decision(False, PER_CASE_CAP, 60_500)),
    # the cap holds over all of the case's grants together
    (39_500, 100_000, 12_000_000, Decision(True)),
    (39_501, 100_000, 12_000_000, Decision(False, PER_CASE_CAP, 1)),
    (100_000, 100_000, 12_000_000, Decision(False, PER_CASE_CAP, 60_500)),
    (1, CAP, 12_000_000, Decision(False, PER_CASE_CAP, 1)),
    (10, 0, 12_000_000, Decision(True)),
])
def test_decide_examples(amount: int, granted: int, remaining: int, expected: Decision) -> None:
    assert decide(amount, CAP, granted, remaining) == expected


def test_granted_decision_has_no_limit_or_excess() -> None:
    decision = decide(1, CAP, 0, 12_000_000)
    assert (decision.granted, decision.limit, decision.excess_fen) == (True, "", 0)


@FAST
@given(amount=st.integers(min_value=1, max_value=MAX_GRANT_FEN), cap=fens,
       granted=st.integers(min_value=0, max_value=10**12), remaining=fens)
def test_decide_property(amount: int, cap: int, granted: int, remaining: int) -> None:
    decision = decide(amount, cap, granted, remaining)
    assert decision.granted == (granted + amount <= cap and amount <= remaining)
    if decision.granted:
        assert (decision.limit, decision.excess_fen) == ("", 0)
    elif granted + amount > cap:  # the per-case cap takes precedence
        assert (decision.limit, decision.excess_fen) == (PER_CASE_CAP, granted + amount - cap)
    else:
        assert (decision.limit, decision.excess_fen) == (ANNUAL_BUDGET, amount - remaining)
    assert decision.excess_fen >= 0
    if not decision.granted:
        assert decision.excess_fen > 0


@FAST
@given(grants=st.lists(st.integers(min_value=1, max_value=200_000), max_size=30))
def test_a_case_s_grants_never_add_up_to_more_than_its_cap(grants: list[int]) -> None:
    total = 0
    for amount in grants:
        if decide(amount, CAP, total, 10**12).granted:
            total += amount
        assert total <= CAP


@FAST
@given(cap=st.integers(min_value=1, max_value=10**9),
       remaining=st.integers(min_value=1, max_value=10**9))
def test_largest_grant_is_the_smaller_limit(cap: int, remaining: int) -> None:
    largest = min(cap, remaining)
    assert decide(largest, cap, 0, remaining).granted
    refused = decide(largest + 1, cap, 0, remaining)
    assert not refused.granted
    assert refused.excess_fen == 1


# --- refusal_message ---------------------------------------------------------------------------

def message(decision: Decision, cap: int = CAP, granted: int = 0, remaining: int = 12_000_000,
            permille: int = 1500, year: int = 2024) -> str:
    return refusal_message(decision, cap_fen=cap, case_granted_fen=granted,
                           remaining_fen=remaining, permille=permille, standard_fen=93_000,
                           standard_code="3505", year=year)


def test_cap_refusal_message() -> None:
    decision = decide(100_000, CAP, 100_000, 12_000_000)
    assert message(decision, granted=100_000) == (
        "refused: above the per-case cap of 1,395.00 yuan "
        "(1.5 x the monthly minimum living standard of 930.00 yuan set by 3505); the case has "
        "already been granted 1,000.00 yuan, so this grant exceeds the cap by 605.00 yuan")


@pytest.mark.parametrize(("permille", "multiple"), [
    (1500, "1.5 x"), (1000, "1 x"), (2000, "2 x"), (1250, "1.25 x"), (500, "0.5 x"),
])
def test_cap_refusal_names_the_multiple(permille: int, multiple: str) -> None:
    text = message(Decision(False, PER_CASE_CAP, 1), cap=93_000, permille=permille)
    assert f"({multiple} the monthly minimum living standard of 930.00 yuan" in text
    assert text.endswith("by 0.01 yuan")


def test_budget_refusal_message() -> None:
    decision = decide(100_000, CAP, 0, 30_050)
    assert decision.limit == ANNUAL_BUDGET
    assert message(decision, remaining=30_050) == (
        "refused: above what remains of the community's 2024 relief budget "
        "(300.50 yuan) by 699.50 yuan")


@FAST
@given(amount=st.integers(min_value=1, max_value=MAX_GRANT_FEN),
       cap=st.integers(min_value=0, max_value=MAX_GRANT_FEN),
       granted=st.integers(min_value=0, max_value=MAX_GRANT_FEN),
       remaining=st.integers(min_value=0, max_value=12_000_000),
       year=st.integers(min_value=2000, max_value=2100))
def test_refusal_message_names_limit_and_excess(amount: int, cap: int, granted: int,
                                                remaining: int, year: int) -> None:
    decision = decide(amount, cap, granted, remaining)
    if decision.granted:
        return
    text = message(decision, cap, granted, remaining, year=year)
    assert text.startswith("refused: ")
    assert text.endswith(f" by {yuan(decision.excess_fen)} yuan")
    if decision.limit == PER_CASE_CAP:
        assert f"per-case cap of {yuan(cap)} yuan" in text
        assert f"already been granted {yuan(granted)} yuan" in text
        assert "1.5 x" in text
    else:
        assert f"{year} relief budget ({yuan(remaining)} yuan)" in text
