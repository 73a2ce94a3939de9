"""The three warning levels of the aid plans and the response each requires.

red    — monthly medical spending above a share (50%) of household income: the community
         intervenes at once and arranges secondary medical-insurance reimbursement;
orange — a sudden accident causing hardship: charity relief starts within 48 hours;
yellow — a gap in daily spending: supplies from the community's "love supermarket".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from aid.config import AidRules
from aid.domain.case_actions import CaseAction
from runtime.errors import Violations

NONE, YELLOW, ORANGE, RED = 0, 1, 2, 3
LEVEL_NAMES = {NONE: "none", YELLOW: "yellow", ORANGE: "orange", RED: "red"}
MEDICAL_SPENDING, ACCIDENT, DAILY_SPENDING_GAP = 1, 2, 3
MAX_AMOUNT_FEN = 10_000_000 * 100  # ten million yuan a month is a typing error, not a report

# What each level requires, and within how long.
REQUIRED_ACTIONS: dict[int, tuple[tuple[str, timedelta], ...]] = {
    RED: (("community_intervention", timedelta(hours=24)),
          ("insurance_referral", timedelta(days=7))),
    ORANGE: (("charity_relief", timedelta(hours=48)),),
    YELLOW: (("supermarket_supplies", timedelta(hours=72)),),
}


@dataclass(frozen=True)
class Evaluation:
    level: int
    reason: str


def validate_report(kind: int, amount_fen: int, description: str) -> None:
    v = Violations()
    v.check(kind in (MEDICAL_SPENDING, ACCIDENT, DAILY_SPENDING_GAP), "kind",
            "must be medical spending, accident or daily spending gap")
    in_range = v.check(0 <= amount_fen <= MAX_AMOUNT_FEN, "amount_fen",
                       "integer fen, not negative, at most 10 million yuan")
    if in_range and kind in (MEDICAL_SPENDING, DAILY_SPENDING_GAP):
        v.check(amount_fen > 0, "amount_fen", "the monthly amount is required")
    v.check(len(description) <= 1000, "description", "at most 1000 characters")
    v.raise_if_any()


def evaluate(kind: int, amount_fen: int, income_fen: int, rules: AidRules) -> Evaluation:
    share = rules.red_medical_share_percent
    if kind == MEDICAL_SPENDING:
        if amount_fen * 100 > share * income_fen:
            # rounded up: the figure given is always above the threshold it is compared with
            percent = "∞" if income_fen == 0 else f"{-(-amount_fen * 100 // income_fen)}"
            return Evaluation(RED, f"monthly medical spending is {percent}% of household income "
                                   f"(red above {share}%)")
        return Evaluation(NONE, f"medical spending within {share}% of household income")
    if kind == ACCIDENT:
        return Evaluation(ORANGE, "sudden accident causing hardship")
    return Evaluation(YELLOW, "gap in daily spending")


def required_actions(level: int, now: datetime) -> list[CaseAction]:
    """The actions a warning of `level` requires, due from `now`."""
    return [CaseAction(action, now + within) for action, within in REQUIRED_ACTIONS.get(level, ())]
