"""The console's words in zh-CN (first) and English. Each page module's words live in a
catalogue of its own (console/i18n/<name>.py, MESSAGES = {key: (zh-CN, English)}); keys are
unique across catalogues (tests/unit/test_console_i18n.py checks that and that every key a
template or page uses exists in both languages)."""

from __future__ import annotations

import importlib
from typing import Any

LANGS = ("zh-CN", "en")
DEFAULT_LANG = "zh-CN"
CATALOGUES = ("common", "persons", "work", "inbox", "stats", "events")


def _load() -> dict[str, tuple[str, str]]:
    merged: dict[str, tuple[str, str]] = {}
    for name in CATALOGUES:
        module = importlib.import_module(f"console.i18n.{name}")
        for key, pair in module.MESSAGES.items():
            if key in merged:
                raise ValueError(f"console message {key!r} is defined twice ({name})")
            merged[key] = pair
    return merged


MESSAGES = _load()


def translate(lang: str, key: str, /, **values: Any) -> str:
    """The message `key` in `lang`, with {placeholders} filled. An unknown key raises: a page
    never shows a key instead of words."""
    zh, en = MESSAGES[key]
    text = en if lang == "en" else zh
    return text.format(**values) if values else text


def pick_lang(cookie: str | None, accept_language: str | None) -> str:
    """The language the worker chose (the lang cookie), else the browser's first of ours,
    else zh-CN."""
    if cookie in LANGS:
        return cookie
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LANG
