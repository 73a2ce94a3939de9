"""Temporary relief rules. Relief is granted on an open aid case of the household; all of a
case's grants together are capped at a multiple (1.5x) of the monthly minimum living standard —
that of the deepest jurisdiction at or above the household that sets one (the registry holds it)
— and each grant by what remains of the community's annual budget. Amounts are integer fen
throughout."""

from __future__ import annotations

from dataclasses import dataclass

from runtime.errors import Violations
from runtime.inputs import is_uuid

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


def ancestor_paths(path: str) -> list[str]:
    """The path of every jurisdiction at or above `path`, the city first."""
    parts = [p for p in path.strip("/").split("/") if p]
    return ["/" + "/".join(parts[:n]) + "/" for n in range(1, len(parts) + 1)]


def cap_fen(standard_fen: int, permille: int) -> int:
    """The cap of one case: `permille` thousandths of the monthly standard, rounded down."""
    return standard_fen * permille // 1000


def validate_grant(amount_fen: int, reason: str, case_id: str) -> None:
    v = Violations()
    v.check(0 < amount_fen <= MAX_GRANT_FEN, "amount_fen",
            "integer fen, more than 0, at most 10 million yuan")
    v.check(0 < len(reason.strip()) <= 500, "reason", "required, at most 500 characters")
    if v.check(bool(case_id), "case_id", "required: the household's open aid case the relief "
                                         "is granted on"):
        v.check(is_uuid(case_id), "case_id", "must be a UUID")
    v.raise_if_any()


def decide(amount_fen: int, cap_fen: int, case_granted_fen: int, remaining_fen: int
           ) -> Decision:
    """`case_granted_fen`: what the case's earlier grants came to."""
    over_cap = case_granted_fen + amount_fen - cap_fen
    if over_cap > 0:
        return Decision(False, PER_CASE_CAP, over_cap)
    if amount_fen > remaining_fen:
        return Decision(False, ANNUAL_BUDGET, amount_fen - remaining_fen)
    return Decision(True)


def no_standard_message(path: str) -> str:
    city = path.strip("/").split("/")[0]
    return (f"no minimum living standard is known for city {city} nor any jurisdiction under "
            f"it down to {path}: relief cannot be capped, so none is decided (the registry's "
            "jurisdiction record holds the standard; set it there)")


def refusal_message(decision: Decision, *, cap_fen: int, case_granted_fen: int,
                    remaining_fen: int, permille: int, standard_fen: int, standard_code: str,
                    year: int) -> str:
    if decision.limit == PER_CASE_CAP:
        return (f"refused: above the per-case cap of {yuan(cap_fen)} yuan "
                f"({permille / 1000:g} x the monthly minimum living standard of "
                f"{yuan(standard_fen)} yuan set by {standard_code}); the case has already been "
                f"granted {yuan(case_granted_fen)} yuan, so this grant exceeds the cap "
                f"by {yuan(decision.excess_fen)} yuan")
    return (f"refused: above what remains of the community's {year} relief budget "
            f"({yuan(remaining_fen)} yuan) by {yuan(decision.excess_fen)} yuan")
