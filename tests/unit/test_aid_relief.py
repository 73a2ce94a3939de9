"""Temporary relief: yuan formatting, the community of a path, validating a grant, and the
decision against the per-case cap and the community's annual budget (pure code)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aid.domain.relief import (
    ANNUAL_BUDGET,
    COMMUNITY_DEPTH,
    MAX_GRANT_FEN,
    PER_CASE_CAP,
    Decision,
    community_of,
    decide,
    refusal_message,
    validate_grant,
    yuan,
)
from runtime.errors import InvalidArgument

FAST = settings(max_examples=200, deadline=None)
fens = st.integers(min_value=0, max_value=10**15)
COMMUNITY = "/3505/350502/350502001/350502001001/"
CAP = 139_500  # 1.5 x 930 yuan


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


# --- validate_grant ----------------------------------------------------------------------------

def grant_violations(amount: int, reason: str) -> set[str]:
    with pytest.raises(InvalidArgument) as exc:
        validate_grant(amount, reason)
    return {v.field for v in exc.value.violations}


@pytest.mark.parametrize("amount", [1, CAP, MAX_GRANT_FEN])
def test_valid_grants(amount: int) -> None:
    validate_grant(amount, "hospital bill")
    validate_grant(amount, "r" * 500)


def test_max_grant() -> None:
    assert MAX_GRANT_FEN == 10_000_000 * 100


@pytest.mark.parametrize("amount", [0, -1, -139_500, MAX_GRANT_FEN + 1])
def test_bad_amount(amount: int) -> None:
    assert grant_violations(amount, "hospital bill") == {"amount_fen"}


@pytest.mark.parametrize("reason", ["", "   ", "\n\t", "r" * 501])
def test_bad_reason(reason: str) -> None:
    assert grant_violations(100, reason) == {"reason"}


def test_reason_is_measured_without_surrounding_whitespace() -> None:
    validate_grant(100, "  " + "r" * 500 + "\n")  # the service stores reason.strip()


def test_all_grant_violations_at_once() -> None:
    assert grant_violations(0, "") == {"amount_fen", "reason"}
    with pytest.raises(InvalidArgument) as exc:
        validate_grant(-5, "r" * 501)
    assert "amount_fen" in exc.value.message
    assert "reason" in exc.value.message


# --- decide ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("amount", "cap", "remaining", "expected"), [
    (CAP, CAP, 12_000_000, Decision(True)),
    (CAP + 1, CAP, 12_000_000, Decision(False, PER_CASE_CAP, 1)),
    (200_000, CAP, 12_000_000, Decision(False, PER_CASE_CAP, 60_500)),
    (50_000, CAP, 50_000, Decision(True)),
    (50_001, CAP, 50_000, Decision(False, ANNUAL_BUDGET, 1)),
    (100_000, CAP, 0, Decision(False, ANNUAL_BUDGET, 100_000)),
    # both limits exceeded: the per-case cap is named
    (200_000, CAP, 10_000, Decision(False, PER_CASE_CAP, 60_500)),
])
def test_decide_examples(amount: int, cap: int, remaining: int, expected: Decision) -> None:
    assert decide(amount, cap, remaining) == expected


def test_granted_decision_has_no_limit_or_excess() -> None:
    decision = decide(1, CAP, 12_000_000)
    assert (decision.granted, decision.limit, decision.excess_fen) == (True, "", 0)


@FAST
@given(amount=st.integers(min_value=1, max_value=MAX_GRANT_FEN), cap=fens, remaining=fens)
def test_decide_property(amount: int, cap: int, remaining: int) -> None:
    decision = decide(amount, cap, remaining)
    assert decision.granted == (amount <= cap and amount <= remaining)
    if decision.granted:
        assert (decision.limit, decision.excess_fen) == ("", 0)
    elif amount > cap:  # the per-case cap takes precedence
        assert (decision.limit, decision.excess_fen) == (PER_CASE_CAP, amount - cap)
    else:
        assert (decision.limit, decision.excess_fen) == (ANNUAL_BUDGET, amount - remaining)
    assert decision.excess_fen >= 0
    if not decision.granted:
        assert decision.excess_fen > 0


@FAST
@given(cap=st.integers(min_value=1, max_value=10**9),
       remaining=st.integers(min_value=1, max_value=10**9))
def test_largest_grant_is_the_smaller_limit(cap: int, remaining: int) -> None:
    largest = min(cap, remaining)
    assert decide(largest, cap, remaining).granted
    refused = decide(largest + 1, cap, remaining)
    assert not refused.granted
    assert refused.excess_fen == 1


# --- refusal_message ---------------------------------------------------------------------------

def test_cap_refusal_message() -> None:
    decision = decide(200_000, CAP, 12_000_000)
    assert refusal_message(decision, CAP, 12_000_000, 1500, 2024) == (
        "refused: above the per-case cap of 1,395.00 yuan "
        "(1.5 x the city's monthly minimum living standard) by 605.00 yuan")


@pytest.mark.parametrize(("permille", "multiple"), [
    (1500, "1.5 x"), (1000, "1 x"), (2000, "2 x"), (1250, "1.25 x"), (500, "0.5 x"),
])
def test_cap_refusal_names_the_multiple(permille: int, multiple: str) -> None:
    decision = Decision(False, PER_CASE_CAP, 1)
    message = refusal_message(decision, 93_000, 12_000_000, permille, 2024)
    assert f"({multiple} the city's monthly minimum living standard)" in message
    assert message.endswith("by 0.01 yuan")


def test_budget_refusal_message() -> None:
    decision = decide(100_000, CAP, 30_050)
    assert decision.limit == ANNUAL_BUDGET
    assert refusal_message(decision, CAP, 30_050, 1500, 2024) == (
        "refused: above what remains of the community's 2024 relief budget "
        "(300.50 yuan) by 699.50 yuan")


@FAST
@given(amount=st.integers(min_value=1, max_value=MAX_GRANT_FEN),
       cap=st.integers(min_value=0, max_value=MAX_GRANT_FEN),
       remaining=st.integers(min_value=0, max_value=12_000_000),
       year=st.integers(min_value=2000, max_value=2100))
def test_refusal_message_names_limit_and_excess(amount: int, cap: int, remaining: int,
                                                year: int) -> None:
    decision = decide(amount, cap, remaining)
    if decision.granted:
        return
    message = refusal_message(decision, cap, remaining, 1500, year)
    assert message.startswith("refused: ")
    assert message.endswith(f" by {yuan(decision.excess_fen)} yuan")
    if decision.limit == PER_CASE_CAP:
        assert f"per-case cap of {yuan(cap)} yuan" in message
        assert "1.5 x" in message
    else:
        assert f"{year} relief budget ({yuan(remaining)} yuan)" in message
