"""Every word of the console exists in zh-CN and English: each key a template or page uses is
in the catalogues, no key is defined twice, placeholders match between the two languages."""

from __future__ import annotations

import re
import string
from pathlib import Path

from console.i18n import MESSAGES, pick_lang, translate
from console.i18n.rules import explain_rule

CONSOLE = Path(__file__).resolve().parents[2] / "services" / "console"
# t("key") / translate(lang, "key") with a literal key; keys built at run time
# (t("role." ~ role)) are checked through their prefix below.
USED = re.compile(r"""\bt(?:ranslate)?\(\s*(?:[a-z_]+\s*,\s*)?["']([a-z0-9_.]+)["']""")
PREFIXED = re.compile(r"""\bt\(\s*["']([a-z0-9_]+\.)["']\s*~""")


def _sources() -> list[Path]:
    return [*CONSOLE.rglob("*.html"), *CONSOLE.rglob("*.py")]


def test_every_literal_key_exists() -> None:
    missing = {(path.name, key) for path in _sources()
               for key in USED.findall(path.read_text(encoding="utf-8"))
               if key not in MESSAGES and not key.endswith(".")}
    assert not missing, f"keys used but not in any catalogue: {sorted(missing)}"


def test_every_dynamic_prefix_has_keys() -> None:
    for path in _sources():
        for prefix in PREFIXED.findall(path.read_text(encoding="utf-8")):
            assert any(key.startswith(prefix) for key in MESSAGES), (path.name, prefix)


def test_both_languages_have_the_same_placeholders() -> None:
    fields = string.Formatter()
    for key, (zh, en) in MESSAGES.items():
        assert zh.strip() and en.strip(), key
        assert ({name for _, name, _, _ in fields.parse(zh) if name}
                == {name for _, name, _, _ in fields.parse(en) if name}), key


def test_language_choice() -> None:
    assert pick_lang(None, None) == "zh-CN"
    assert pick_lang(None, "en-GB,en;q=0.9") == "en"
    assert pick_lang(None, "fr-FR, zh-TW;q=0.8") == "zh-CN"
    assert pick_lang("en", "zh-CN") == "en"
    assert pick_lang("xx", "en") == "en"
    assert translate("en", "login.title") == "Sign in"
    assert translate("zh-CN", "login.title") == "登录"


def test_rules_known_are_translated_unknown_left_to_the_caller() -> None:
    assert explain_rule("zh-CN", "check digit does not match (GB 11643 MOD 11-2)").startswith(
        "校验位不正确")
    assert explain_rule("zh-CN", "must be 18 characters, got 17") == "须为18位，现为17位"
    assert explain_rule("zh-CN", "a rule nobody translated") == ""
    assert explain_rule("en", "a rule nobody translated") == "a rule nobody translated"
