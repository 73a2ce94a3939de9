"""Households (一户一档) and the jurisdiction tree they sit in."""

from __future__ import annotations

import re
from dataclasses import dataclass

from runtime.errors import Violations

CITY, DISTRICT, STREET, COMMUNITY, GRID = 1, 2, 3, 4, 5
LEVEL_NAMES = {CITY: "city", DISTRICT: "district", STREET: "street", COMMUNITY: "community",
               GRID: "grid"}
CODE = re.compile(r"[A-Za-z0-9-]{1,32}")
# An absurd monthly household income (100 million yuan) is a typing error, not a household.
MAX_MONTHLY_INCOME_FEN = 100_000_000 * 100


@dataclass
class Jurisdiction:
    code: str
    name: str
    level: int
    parent_code: str
    path: str
    minimum_living_standard_fen: int = 0
    version: int = 1

    @staticmethod
    def validate_new(code: str, name: str, level: int, parent: Jurisdiction | None,
                     living_standard_fen: int) -> None:
        v = Violations()
        v.check(bool(CODE.fullmatch(code)), "code", "1-32 letters, digits or '-'")
        v.check(0 < len(name.strip()) <= 100, "name", "required, at most 100 characters")
        if v.check(level in LEVEL_NAMES, "level", "must be city, district, street, community "
                                                  "or grid"):
            if level == CITY:
                v.check(parent is None, "parent_code", "a city has no parent")
            elif parent is None:
                v.add("parent_code", f"a {LEVEL_NAMES[level]} needs its parent")
            else:
                v.check(parent.level == level - 1, "level",
                        f"a {LEVEL_NAMES[parent.level]}'s children are "
                        f"{LEVEL_NAMES.get(parent.level + 1, 'nothing')}s")
        check_living_standard(v, living_standard_fen)
        v.raise_if_any()

    def validate_changes(self) -> None:
        v = Violations()
        v.check(0 < len(self.name.strip()) <= 100, "jurisdiction.name",
                "required, at most 100 characters")
        check_living_standard(v, self.minimum_living_standard_fen,
                              "jurisdiction.minimum_living_standard_fen")
        v.raise_if_any()


def check_living_standard(v: Violations, fen: int,
                          field: str = "minimum_living_standard_fen") -> None:
    v.check(0 <= fen <= 10_000_000, field, "fen per month, 0 to 100,000 yuan")


@dataclass
class Household:
    household_id: str
    grid_code: str
    jurisdiction_path: str
    address: str
    monthly_income_fen: int
    version: int = 1

    def validate(self) -> None:
        v = Violations()
        v.check(0 < len(self.address.strip()) <= 200, "address",
                "required, at most 200 characters")
        v.check(0 <= self.monthly_income_fen <= MAX_MONTHLY_INCOME_FEN, "monthly_income_fen",
                "integer fen, not negative, at most 100 million yuan")
        v.raise_if_any()
