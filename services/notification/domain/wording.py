"""The words the service supplies to templates: payload tokens in the reader's language (red →
红色), what a warning level sets in motion, and how a household is named. Loaded from
``notification/wording.toml`` (see its header) and checked at load: every entry has zh-CN and en.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from notification.domain.templates import DEFAULT_LOCALE, FALLBACK_LOCALE, TemplateError

Words = Mapping[str, str]  # locale -> text


@dataclass(frozen=True)
class Wording:
    tokens: Mapping[str, Mapping[str, Words]]   # template field -> token -> words
    actions: Mapping[str, Words]                 # warning level token -> words
    household: Mapping[str, Words]               # own / named / unknown
    labels: Mapping[str, Words]                  # person / household, with {ref}

    def token(self, field: str, token: str, locale: str) -> str:
        words = self.tokens.get(field, {}).get(token)
        return _pick(words, locale) if words is not None else token

    def translate(self, fields: Mapping[str, str], locale: str) -> dict[str, str]:
        """Replaces the tokens of the fields that have wording; leaves other text alone."""
        return {k: self.token(k, v, locale) if k in self.tokens else v
                for k, v in fields.items()}

    def actions_for(self, level_token: str, locale: str) -> str:
        words = self.actions.get(level_token)
        return _pick(words, locale) if words is not None else ""

    def household_name(self, locale: str, *, own: bool, name: str = "") -> str:
        if own:
            return _pick(self.household["own"], locale)
        if not name:
            return _pick(self.household["unknown"], locale)
        return _pick(self.household["named"], locale).replace("{name}", name)

    def label(self, kind: str, locale: str, ref: str) -> str:
        """A person or household named without their name: by the record's short reference."""
        return _pick(self.labels[kind], locale).replace("{ref}", ref)


def _pick(words: Words, locale: str) -> str:
    return words.get(locale, words[FALLBACK_LOCALE])


def _words(where: str, raw: Any) -> Words:
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise TemplateError(f"wording {where}: must be a table of locale = text")
    for locale in (DEFAULT_LOCALE, FALLBACK_LOCALE):
        if locale not in raw:
            raise TemplateError(f"wording {where}: {locale} is missing")
    return dict(raw)


def parse_wording(data: Mapping[str, Any]) -> Wording:
    unknown = sorted(set(data) - {"token", "actions", "household", "label"})
    if unknown:
        raise TemplateError(f"wording: unknown table(s) {', '.join(unknown)}")
    tokens = {field: {tok: _words(f"token.{field}.{tok}", w) for tok, w in table.items()}
              for field, table in data.get("token", {}).items()}
    actions = {lvl: _words(f"actions.{lvl}", w) for lvl, w in data.get("actions", {}).items()}
    household = {k: _words(f"household.{k}", w) for k, w in data.get("household", {}).items()}
    missing = sorted({"own", "named", "unknown"} - household.keys())
    if missing:
        raise TemplateError(f"wording: household.{missing[0]} is missing")
    labels = {k: _words(f"label.{k}", w) for k, w in data.get("label", {}).items()}
    for kind in ("person", "household"):
        if kind not in labels:
            raise TemplateError(f"wording: label.{kind} is missing")
        if any("{ref}" not in text for text in labels[kind].values()):
            raise TemplateError(f"wording: label.{kind} must show the reference {{ref}}")
    return Wording(tokens, actions, household, labels)


@cache
def default_wording() -> Wording:
    text = resources.files("notification").joinpath("wording.toml").read_text("utf-8")
    return parse_wording(tomllib.loads(text))
