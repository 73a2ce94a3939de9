"""Temporary relief rules: a grant is capped per case at a multiple (1.5x) of the city's monthly
minimum living standard, and by what remains of the community's annual budget. Amounts are
integer fen throughout."""

from __future__ import annotations

from dataclasses import dataclass

from runtime.errors import Violations

MAX_GRANT_FEN = 10_000_000 * 100
PER_CASE_CAP, ANNUAL_BUDGET = "per_case_cap", "annual_budget"
COMMUNITY_DEPTH = 4  # city / district / street / community


@dataclass(frozen=True)
class Decision:
    granted: bool
    limit: str = ""      # which limit refused it
    excess_fen: int = 0  # by how much


def yuan(fen: int) -> str:
    """12345 fen → "123.45" (exact: integer arithmetic, never floats)."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


def community_of(path: str) -> str:
    """The community a grid (or household) path lies in."""
    parts = path.strip("/").split("/")
    return "/" + "/".join(parts[:COMMUNITY_DEPTH]) + "/"


def validate_grant(amount_fen: int, reason: str) -> None:
    v = Violations()
    v.check(0 < amount_fen <= MAX_GRANT_FEN, "amount_fen",
            "integer fen, more than 0, at most 10 million yuan")
    v.check(0 < len(reason.strip()) <= 500, "reason", "required, at most 500 characters")
    v.raise_if_any()


def decide(amount_fen: int, cap_fen: int, remaining_fen: int) -> Decision:
    if amount_fen > cap_fen:
        return Decision(False, PER_CASE_CAP, amount_fen - cap_fen)
    if amount_fen > remaining_fen:
        return Decision(False, ANNUAL_BUDGET, amount_fen - remaining_fen)
    return Decision(True)


def refusal_message(decision: Decision, cap_fen: int, remaining_fen: int, permille: int,
                    year: int) -> str:
    if decision.limit == PER_CASE_CAP:
        return (f"refused: above the per-case cap of {yuan(cap_fen)} yuan "
                f"({permille / 1000:g} x the city's monthly minimum living standard) "
                f"by {yuan(decision.excess_fen)} yuan")
    return (f"refused: above what remains of the community's {year} relief budget "
            f"({yuan(remaining_fen)} yuan) by {yuan(decision.excess_fen)} yuan")
