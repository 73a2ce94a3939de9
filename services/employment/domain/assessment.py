"""The vocational assessment and the track its scores recommend.

Indicators, their scales and weights live in ``employment/assessment.toml``; the track rules in
``employment/tracks.toml`` (see their headers). Both are checked when loaded: a rules file that
does not hold together stops the service at start-up, naming the rule and what is wrong.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from importlib import resources
from typing import Any

from runtime.errors import ServiceError, Violations

TRACKS = {"technical": 1, "auxiliary": 2, "new_economy": 3, "home_based": 4}
TRACK_NAMES = {v: k for k, v in TRACKS.items()}
CATEGORIES = {"visual": 1, "hearing": 2, "speech": 3, "physical": 4, "intellectual": 5,
              "mental": 6, "multiple": 7}
CONDITION_KEYS = frozenset({"categories", "grade_at_least", "grade_at_most", "age_at_least",
                            "age_at_most", "total_at_least", "total_below", "scores_at_least"})


class AssessmentConfigError(ServiceError):
    pass


@dataclass(frozen=True)
class Indicator:
    name: str
    scale: int
    weight: int


@dataclass(frozen=True)
class Scale:
    indicators: tuple[Indicator, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.indicators)

    def validate(self, scores: Sequence[tuple[str, int]], field_name: str = "scores") -> dict[
            str, int]:
        """Every indicator once, each within its scale; InvalidArgument names each problem."""
        v = Violations()
        known = {i.name: i for i in self.indicators}
        given: dict[str, int] = {}
        for index, (name, score) in enumerate(scores):
            where = f"{field_name}[{index}]"
            if name not in known:
                v.add(f"{where}.indicator", f"unknown indicator; one of {', '.join(known)}")
                continue
            if name in given:
                v.add(f"{where}.indicator", f"{name} is scored twice")
                continue
            if not 0 <= score <= known[name].scale:
                v.add(f"{where}.score", f"{name} is scored from 0 to {known[name].scale}")
            given[name] = score
        for name in known:
            if name not in given:
                v.add(field_name, f"{name} is missing: every indicator is scored")
        v.raise_if_any()
        return given

    def total(self, scores: Mapping[str, int]) -> int:
        """The weighted total, 0-100, rounded half up."""
        exact = sum(Fraction(scores[i.name] * i.weight, i.scale) for i in self.indicators)
        return int(exact + Fraction(1, 2))


@dataclass(frozen=True)
class Person:
    category: int
    grade: int
    age: int


@dataclass(frozen=True)
class TrackRule:
    name: str
    track: int
    reason: str
    categories: frozenset[int] = frozenset()
    grade_at_least: int | None = None
    grade_at_most: int | None = None
    age_at_least: int | None = None
    age_at_most: int | None = None
    total_at_least: int | None = None
    total_below: int | None = None
    scores_at_least: Mapping[str, int] = field(default_factory=dict)

    def holds(self, person: Person, scores: Mapping[str, int], total: int) -> bool:
        checks = [
            not self.categories or person.category in self.categories,
            self.grade_at_least is None or person.grade >= self.grade_at_least,
            self.grade_at_most is None or person.grade <= self.grade_at_most,
            self.age_at_least is None or person.age >= self.age_at_least,
            self.age_at_most is None or person.age <= self.age_at_most,
            self.total_at_least is None or total >= self.total_at_least,
            self.total_below is None or total < self.total_below,
            all(scores.get(k, 0) >= n for k, n in self.scores_at_least.items()),
        ]
        return all(checks)


@dataclass(frozen=True)
class Recommendation:
    track: int
    rule: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class TrackRules:
    rules: tuple[TrackRule, ...]

    def recommend(self, person: Person, scores: Mapping[str, int], total: int
                  ) -> Recommendation:
        for rule in self.rules:
            if rule.holds(person, scores, total):
                facts = (f"rule {rule.name}: total {total}/100, grade {person.grade}, "
                         f"age {person.age}")
                return Recommendation(rule.track, rule.name, (rule.reason, facts))
        raise AssessmentConfigError("no track rule applies; the last rule must have no "
                                    "conditions")


# --- loading ------------------------------------------------------------------------------------
def _read(name: str) -> dict[str, Any]:
    text = resources.files("employment").joinpath(name).read_text("utf-8")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise AssessmentConfigError(f"{name} is not valid TOML: {e}") from None


def parse_scale(data: Mapping[str, Any]) -> Scale:
    table = data.get("indicators")
    if not isinstance(table, dict) or not table:
        raise AssessmentConfigError("assessment: [indicators] must list the indicators")
    indicators = []
    for name, spec in table.items():
        if (not isinstance(spec, dict) or set(spec) != {"scale", "weight"}
                or not all(isinstance(spec[k], int) and spec[k] > 0 for k in spec)):
            raise AssessmentConfigError(f"assessment: indicator {name!r} needs a positive "
                                        "integer scale and weight")
        indicators.append(Indicator(name, spec["scale"], spec["weight"]))
    if sum(i.weight for i in indicators) != 100:
        raise AssessmentConfigError("assessment: the weights must add up to 100")
    return Scale(tuple(indicators))


def _int(rule: str, key: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise AssessmentConfigError(f"track rule {rule!r}: {key} must be an integer")
    return value


def parse_rules(data: Mapping[str, Any], scale: Scale) -> TrackRules:
    raw = data.get("rule")
    if not isinstance(raw, list) or not raw:
        raise AssessmentConfigError("tracks: define the rules as [[rule]]")
    rules = []
    for spec in raw:
        name = str(spec.get("name", ""))
        if not name:
            raise AssessmentConfigError("tracks: every rule needs a name")
        unknown = set(spec) - CONDITION_KEYS - {"name", "track", "reason"}
        if unknown:
            raise AssessmentConfigError(f"track rule {name!r}: unknown key(s) "
                                        f"{', '.join(sorted(unknown))}")
        if spec.get("track") not in TRACKS:
            raise AssessmentConfigError(f"track rule {name!r}: track must be one of "
                                        f"{', '.join(TRACKS)}")
        if not isinstance(spec.get("reason"), str) or not spec["reason"].strip():
            raise AssessmentConfigError(f"track rule {name!r}: a reason is required")
        categories = spec.get("categories", [])
        if not isinstance(categories, list) or any(c not in CATEGORIES for c in categories):
            raise AssessmentConfigError(f"track rule {name!r}: categories must be among "
                                        f"{', '.join(CATEGORIES)}")
        minimums = spec.get("scores_at_least", {})
        if not isinstance(minimums, dict) or any(k not in scale.names for k in minimums):
            raise AssessmentConfigError(f"track rule {name!r}: scores_at_least names an "
                                        "unknown indicator")
        ints = {k: _int(name, k, spec[k]) for k in CONDITION_KEYS - {"categories",
                                                                      "scores_at_least"}
                if k in spec}
        rules.append(TrackRule(name, TRACKS[spec["track"]], spec["reason"].strip(),
                               frozenset(CATEGORIES[c] for c in categories),
                               scores_at_least={k: _int(name, k, v) for k, v in minimums.items()},
                               **ints))
    last = rules[-1]
    if (last.categories or last.scores_at_least or any(
            getattr(last, k) is not None for k in CONDITION_KEYS - {"categories",
                                                                     "scores_at_least"})):
        raise AssessmentConfigError("tracks: the last rule must have no conditions, so every "
                                    "plan gets a track")
    return TrackRules(tuple(rules))


@cache
def default_scale() -> Scale:
    return parse_scale(_read("assessment.toml"))


@cache
def default_rules() -> TrackRules:
    return parse_rules(_read("tracks.toml"), default_scale())
