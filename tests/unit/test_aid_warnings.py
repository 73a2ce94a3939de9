"""Aid warning levels: validating a hardship report, evaluating it, and the actions each level
requires (pure code: no database, broker or network)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aid.config import AidRules
from aid.domain.case_actions import CaseAction
from aid.domain.warnings import (
    ACCIDENT,
    DAILY_SPENDING_GAP,
    LEVEL_NAMES,
    MAX_AMOUNT_FEN,
    MEDICAL_SPENDING,
    NONE,
    ORANGE,
    RED,
    YELLOW,
    evaluate,
    required_actions,
    validate_report,
)
from runtime.errors import InvalidArgument

RULES = AidRules()  # red above 50% of household income
FAST = settings(max_examples=200, deadline=None)
MAX_INCOME_FEN = 10_000_000 * 100
incomes = st.integers(min_value=0, max_value=MAX_INCOME_FEN)
amounts = st.integers(min_value=1, max_value=MAX_AMOUNT_FEN)
shares = st.integers(min_value=1, max_value=100)
NOW = datetime(2024, 3, 1, 8, 30, tzinfo=UTC)


def violations(kind: int, amount_fen: int, description: str = "") -> dict[str, str]:
    with pytest.raises(InvalidArgument) as exc:
        validate_report(kind, amount_fen, description)
    fields = [v.field for v in exc.value.violations]
    assert len(fields) == len(set(fields)), "one violation per field"
    return {v.field: v.description for v in exc.value.violations}


# --- validate_report ---------------------------------------------------------------------------

def test_constants() -> None:
    assert MAX_AMOUNT_FEN == 1_000_000_000  # ten million yuan, in fen
    assert (NONE, YELLOW, ORANGE, RED) == (0, 1, 2, 3)
    assert LEVEL_NAMES == {0: "none", 1: "yellow", 2: "orange", 3: "red"}


@pytest.mark.parametrize("kind", [MEDICAL_SPENDING, ACCIDENT, DAILY_SPENDING_GAP])
@pytest.mark.parametrize("amount", [1, 139_500, MAX_AMOUNT_FEN])
def test_valid_reports(kind: int, amount: int) -> None:
    validate_report(kind, amount, "")
    validate_report(kind, amount, "住院 " * 250)  # 1000 characters exactly


def test_accident_may_have_no_amount() -> None:
    validate_report(ACCIDENT, 0, "fire in the kitchen")


@pytest.mark.parametrize("kind", [MEDICAL_SPENDING, DAILY_SPENDING_GAP])
def test_spending_and_gap_need_an_amount(kind: int) -> None:
    assert set(violations(kind, 0)) == {"amount_fen"}


@pytest.mark.parametrize("kind", [0, 4, -1, 99])
def test_unknown_kind(kind: int) -> None:
    assert set(violations(kind, 100)) == {"kind"}


@pytest.mark.parametrize("kind", [MEDICAL_SPENDING, ACCIDENT, DAILY_SPENDING_GAP])
@pytest.mark.parametrize("amount", [-1, -100, MAX_AMOUNT_FEN + 1, 10**15])
def test_amount_out_of_range(kind: int, amount: int) -> None:
    assert set(violations(kind, amount)) == {"amount_fen"}


def test_description_too_long() -> None:
    assert set(violations(ACCIDENT, 0, "x" * 1001)) == {"description"}
    validate_report(ACCIDENT, 0, "x" * 1000)


def test_all_violations_at_once() -> None:
    assert set(violations(7, -5, "x" * 1001)) == {"kind", "amount_fen", "description"}
    assert set(violations(MEDICAL_SPENDING, 0, "x" * 1001)) == {"amount_fen", "description"}
    assert set(violations(0, MAX_AMOUNT_FEN + 1, "")) == {"kind", "amount_fen"}


def test_violation_message_names_fields() -> None:
    with pytest.raises(InvalidArgument) as exc:
        validate_report(9, -1, "x" * 2000)
    for name in ("kind", "amount_fen", "description"):
        assert name in exc.value.message


@FAST
@given(kind=st.sampled_from([MEDICAL_SPENDING, ACCIDENT, DAILY_SPENDING_GAP]),
       amount=st.integers(min_value=-(10**12), max_value=10**12),
       length=st.integers(min_value=0, max_value=1200))
def test_validate_report_property(kind: int, amount: int, length: int) -> None:
    minimum = 0 if kind == ACCIDENT else 1
    expected = set()
    if not minimum <= amount <= MAX_AMOUNT_FEN:
        expected.add("amount_fen")
    if length > 1000:
        expected.add("description")
    if expected:
        assert set(violations(kind, amount, "d" * length)) == expected
    else:
        validate_report(kind, amount, "d" * length)


# --- evaluate ----------------------------------------------------------------------------------

@FAST
@given(income=incomes, amount=amounts)
def test_red_iff_strictly_above_default_share(income: int, amount: int) -> None:
    evaluation = evaluate(MEDICAL_SPENDING, amount, income, RULES)
    assert evaluation.level == (RED if amount * 100 > 50 * income else NONE)


@FAST
@given(income=incomes, amount=amounts, share=shares)
def test_red_iff_strictly_above_configured_share(income: int, amount: int, share: int) -> None:
    rules = AidRules(red_medical_share_percent=share)
    evaluation = evaluate(MEDICAL_SPENDING, amount, income, rules)
    assert evaluation.level == (RED if amount * 100 > share * income else NONE)


@FAST
@given(income=st.integers(min_value=1, max_value=MAX_INCOME_FEN), share=shares)
def test_boundary_is_exact(income: int, share: int) -> None:
    """Exactly the share is not red; one fen more is (for incomes where the boundary is a
    whole number of fen; otherwise the first fen above the boundary)."""
    rules = AidRules(red_medical_share_percent=share)
    at_most = share * income // 100  # the largest amount within the share
    if at_most > 0:
        assert evaluate(MEDICAL_SPENDING, at_most, income, rules).level == NONE
    assert evaluate(MEDICAL_SPENDING, at_most + 1, income, rules).level == RED


@pytest.mark.parametrize(("income", "amount", "level"), [
    (100_000, 50_000, NONE),      # exactly 50%
    (100_000, 50_001, RED),       # one fen above
    (100_000, 49_999, NONE),
    (100_001, 50_000, NONE),      # 50% of 100,001 is 50,000.5 fen
    (100_001, 50_001, RED),
    (1, 1, RED),
    (2, 1, NONE),
    (3, 1, NONE),
    (3, 2, RED),
    (MAX_INCOME_FEN, MAX_INCOME_FEN // 2, NONE),
    (MAX_INCOME_FEN, MAX_INCOME_FEN // 2 + 1, RED),
    # floats would get these wrong: 0.5 * 9007199254740993 rounds
    (9_007_199_254_740_993, 4_503_599_627_370_496, NONE),
    (9_007_199_254_740_993, 4_503_599_627_370_497, RED),
])
def test_boundary_examples(income: int, amount: int, level: int) -> None:
    assert evaluate(MEDICAL_SPENDING, amount, income, RULES).level == level


@FAST
@given(amount=amounts, share=shares)
def test_no_income_any_medical_spending_is_red(amount: int, share: int) -> None:
    evaluation = evaluate(MEDICAL_SPENDING, amount, 0, AidRules(red_medical_share_percent=share))
    assert evaluation.level == RED
    assert "∞%" in evaluation.reason


def test_configured_share_moves_the_boundary() -> None:
    income = 100_000
    assert evaluate(MEDICAL_SPENDING, 40_000, income, RULES).level == NONE
    thirty = AidRules(red_medical_share_percent=30)
    assert evaluate(MEDICAL_SPENDING, 30_000, income, thirty).level == NONE
    assert evaluate(MEDICAL_SPENDING, 30_001, income, thirty).level == RED
    assert evaluate(MEDICAL_SPENDING, 40_000, income, thirty).level == RED
    eighty = AidRules(red_medical_share_percent=80)
    assert evaluate(MEDICAL_SPENDING, 60_000, income, eighty).level == NONE
    assert evaluate(MEDICAL_SPENDING, 80_001, income, eighty).level == RED


@FAST
@given(income=incomes, amount=st.integers(min_value=0, max_value=MAX_AMOUNT_FEN))
def test_accident_is_orange_and_gap_is_yellow_whatever_the_amounts(income: int,
                                                                    amount: int) -> None:
    accident = evaluate(ACCIDENT, amount, income, RULES)
    assert accident.level == ORANGE
    assert accident.reason == "sudden accident causing hardship"
    gap = evaluate(DAILY_SPENDING_GAP, amount, income, RULES)
    assert gap.level == YELLOW
    assert gap.reason == "gap in daily spending"


def test_red_reason_states_percentage_and_threshold() -> None:
    reason = evaluate(MEDICAL_SPENDING, 75_000, 100_000, RULES).reason
    assert reason == "monthly medical spending is 75% of household income (red above 50%)"
    reason = evaluate(MEDICAL_SPENDING, 250_000, 100_000,
                      AidRules(red_medical_share_percent=30)).reason
    assert reason == "monthly medical spending is 250% of household income (red above 30%)"
    reason = evaluate(MEDICAL_SPENDING, 1, 0, RULES).reason
    assert reason == "monthly medical spending is ∞% of household income (red above 50%)"


def test_within_share_reason() -> None:
    reason = evaluate(MEDICAL_SPENDING, 10_000, 100_000, RULES).reason
    assert reason == "medical spending within 50% of household income"
    reason = evaluate(MEDICAL_SPENDING, 10_000, 100_000,
                      AidRules(red_medical_share_percent=30)).reason
    assert reason == "medical spending within 30% of household income"


@FAST
@given(income=st.integers(min_value=1, max_value=MAX_INCOME_FEN), amount=amounts,
       share=shares)
def test_red_reason_percentage_is_whole_percent_rounded_up(income: int, amount: int,
                                                           share: int) -> None:
    """Rounded up, so the figure a red reason gives is always above the threshold it names."""
    evaluation = evaluate(MEDICAL_SPENDING, amount, income,
                          AidRules(red_medical_share_percent=share))
    if evaluation.level == RED:
        percent = -(-amount * 100 // income)
        assert evaluation.reason == (f"monthly medical spending is {percent}% of household "
                                     f"income (red above {share}%)")
        assert percent > share


@FAST
@given(income=incomes, amount=st.integers(min_value=0, max_value=MAX_AMOUNT_FEN),
       kind=st.sampled_from([MEDICAL_SPENDING, ACCIDENT, DAILY_SPENDING_GAP]))
def test_reasons_name_no_amounts_of_money(income: int, amount: int, kind: int) -> None:
    """The reason states percentages only: no fen or yuan amounts."""
    reason = evaluate(kind, amount, income, RULES).reason
    assert "yuan" not in reason
    assert "fen" not in reason
    percent = str(-(-amount * 100 // income)) if income else "∞"
    rest = reason.replace(f"is {percent}% of", "").replace("50%", "")
    assert not any(ch.isdigit() for ch in rest), reason


# --- required_actions --------------------------------------------------------------------------

def test_red_actions() -> None:
    assert required_actions(RED, NOW) == [
        CaseAction("community_intervention", datetime(2024, 3, 2, 8, 30, tzinfo=UTC)),
        CaseAction("insurance_referral", datetime(2024, 3, 8, 8, 30, tzinfo=UTC)),
    ]


def test_orange_actions() -> None:
    assert required_actions(ORANGE, NOW) == [
        CaseAction("charity_relief", datetime(2024, 3, 3, 8, 30, tzinfo=UTC))]


def test_yellow_actions() -> None:
    assert required_actions(YELLOW, NOW) == [
        CaseAction("supermarket_supplies", datetime(2024, 3, 4, 8, 30, tzinfo=UTC))]


def test_new_actions_are_open() -> None:
    for level in (RED, ORANGE, YELLOW):
        for action in required_actions(level, NOW):
            assert (action.completed_at, action.completed_by, action.note, action.breached) == (
                None, "", "", False)
            assert not action.on_time


@pytest.mark.parametrize("level", [NONE, 4, -1])
def test_no_actions_without_a_warning(level: int) -> None:
    assert required_actions(level, NOW) == []


@FAST
@given(now=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                        timezones=st.just(UTC)))
def test_due_times_are_relative_to_now(now: datetime) -> None:
    expected = {RED: [("community_intervention", timedelta(hours=24)),
                      ("insurance_referral", timedelta(days=7))],
                ORANGE: [("charity_relief", timedelta(hours=48))],
                YELLOW: [("supermarket_supplies", timedelta(hours=72))]}
    for level, actions in expected.items():
        got = required_actions(level, now)
        assert [a.action for a in got] == [name for name, _ in actions]
        for action, (_, within) in zip(got, actions, strict=True):
            assert action.due_at - now == within
            assert action.due_at.utcoffset() == timedelta(0)


def test_due_times_keep_the_time_zone_of_now() -> None:
    from zoneinfo import ZoneInfo

    now = datetime(2024, 3, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    (action,) = required_actions(ORANGE, now)
    assert action.due_at.isoformat() == "2024-03-03T09:00:00+08:00"
