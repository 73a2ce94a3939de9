"""Notice templates: the loader's checks, rendering with fallback and easy-read, and the loud
failure on a missing field (pure code: no database, broker or network)."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notification.domain.templates import (
    RenderedNotice,
    TemplateBook,
    TemplateError,
    default_book,
    render,
)

FAST = settings(max_examples=200, deadline=None)
EXPECTED = {"warning_raised", "case_opened", "request_dispatched", "sla_breached",
            "relief_decided", "kit_low_on_stock", "sickbed_visit_overdue", "verification_due",
            "visit_missed", "record_check_due", "record_check_overdue", "certification_due",
            "case_action_breached", "break_glass_used"}

GOOD = """
[hello]
fields = ["who"]
[hello.zh-CN]
title = "你好"
body = "你好，{who}！"
[hello.en]
title = "Hello"
body = "Hello, {who}!"
[hello.easy_read.zh-CN]
title = "你好"
body = "{who}，你好。"
[hello.easy_read.en]
title = "Hi"
body = "Hi {who}."
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "templates.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, text: str) -> TemplateBook:
    return TemplateBook.load(write(tmp_path, text))


def values(name: str) -> dict[str, str]:
    return {f: f"<{f}>" for f in default_book().get(name).fields}


# --- the packaged file ---------------------------------------------------------------------------
def test_packaged_templates_load_and_hold_every_notice() -> None:
    assert default_book().names >= EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
@pytest.mark.parametrize("easy_read", [False, True])
def test_every_packaged_variant_renders_every_field(name: str, locale: str,
                                                    easy_read: bool) -> None:
    given_values = values(name)
    notice = render(name, given_values, locale=locale, easy_read=easy_read)
    text = notice.title + notice.body
    assert all(v in text for v in given_values.values())
    assert "{" not in text and "}" not in text
    assert notice.locale == locale and notice.easy_read is easy_read


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_easy_read_is_shorter_than_the_full_text(name: str) -> None:
    for locale in ("zh-CN", "en"):
        full = render(name, values(name), locale)
        easy = render(name, values(name), locale, easy_read=True)
        assert len(easy.body) < len(full.body)


def test_packaged_fields_carry_no_id_or_phone_numbers() -> None:
    for name in default_book().names:
        for field in default_book().get(name).fields:
            assert "phone" not in field and "id" not in field.split("_")


# --- rendering -----------------------------------------------------------------------------------
def test_zh_cn_is_the_default() -> None:
    notice = render("kit_low_on_stock", {"item": "轮椅", "available": "1"})
    assert notice == RenderedNotice("辅具快借完了：轮椅",
                                    "网格辅具箱里的轮椅只剩1件了，请及时补充，别让需要的居民借不到。",
                                    "zh-CN", False)


def test_english_on_request_and_as_the_fallback_of_a_missing_locale() -> None:
    english = render("kit_low_on_stock", {"item": "wheelchair", "available": "1"}, locale="en")
    fallback = render("kit_low_on_stock", {"item": "wheelchair", "available": "1"},
                      locale="fr-FR")
    assert english == fallback
    assert fallback.locale == "en"
    assert fallback.title == "Running low: wheelchair"


def test_easy_read_variant_and_its_fallback(tmp_path: Path) -> None:
    book = load(tmp_path, GOOD)
    assert book.render("hello", {"who": "小王"}, easy_read=True).body == "小王，你好。"
    assert book.render("hello", {"who": "Wang"}, "ja", easy_read=True) == RenderedNotice(
        "Hi", "Hi Wang.", "en", True)


def test_a_missing_field_fails_loudly_naming_template_and_field() -> None:
    with pytest.raises(TemplateError, match=r"'request_dispatched'.*due") as caught:
        render("request_dispatched", {"team": "网格一队"})
    assert "team" not in caught.value.message.split("field(s)")[1]


def test_extra_fields_are_ignored() -> None:
    plain = render("sla_breached", {"deadline": "到场"})
    assert render("sla_breached", {"deadline": "到场", "extra": "x", "other": "y"}) == plain


def test_unknown_template() -> None:
    with pytest.raises(TemplateError, match="no template named 'nope'"):
        render("nope", {})


def test_a_value_that_is_not_text_is_refused() -> None:
    with pytest.raises(TemplateError, match="'available' must be text"):
        render("kit_low_on_stock", {"item": "轮椅", "available": 1})  # type: ignore[dict-item]


def test_literal_braces_survive(tmp_path: Path) -> None:
    book = load(tmp_path, GOOD.replace('body = "Hello, {who}!"', 'body = "Hello, {who} {{x}}!"'))
    assert book.render("hello", {"who": "W"}, "en").body == "Hello, W {x}!"


printable = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40)


@FAST
@given(who=printable)
def test_values_are_inserted_verbatim_never_interpreted(who: str) -> None:
    # A value full of braces, format syntax or attribute access is just text.
    book = TemplateBook.from_text(GOOD)
    assert book.render("hello", {"who": who}, "en").body == f"Hello, {who}!"


@FAST
@given(given_fields=st.dictionaries(st.sampled_from(["item", "available", "x", "y"]), printable))
def test_renders_exactly_when_every_needed_field_is_given(given_fields: dict[str, str]) -> None:
    if {"item", "available"} <= given_fields.keys():
        assert isinstance(render("kit_low_on_stock", given_fields), RenderedNotice)
    else:
        with pytest.raises(TemplateError, match="kit_low_on_stock"):
            render("kit_low_on_stock", given_fields)


# --- the loader's checks -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("placeholder", "why"),
    [("{who.name}", "not a plain"), ("{who[0]}", "not a plain"), ("{who:>10}", "format spec"),
     ("{who!r}", "conversion"), ("{}", "not a plain"), ("{0}", "not a plain")],
)
def test_format_tricks_are_refused(tmp_path: Path, placeholder: str, why: str) -> None:
    text = GOOD.replace('body = "Hello, {who}!"', f'body = "Hello, {placeholder} {{who}}!"'
                        .replace("{{who}}", "{who}"))
    with pytest.raises(TemplateError, match=rf"'hello', variant 'en'.*{why}"):
        load(tmp_path, text)


def test_unmatched_brace_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"'hello', variant 'en'.*malformed braces"):
        load(tmp_path, GOOD.replace('body = "Hello, {who}!"', 'body = "Hello, {who}! {"'))


def test_undeclared_placeholder_names_template_variant_and_placeholder(tmp_path: Path) -> None:
    text = GOOD.replace('body = "Hi {who}."', 'body = "Hi {who}, {phone_owner}."')
    with pytest.raises(TemplateError,
                       match=r"'hello', variant 'easy_read.en'.*\{phone_owner\} is not in"):
        load(tmp_path, text)


def test_a_variant_leaving_out_a_field_is_refused(tmp_path: Path) -> None:
    text = GOOD.replace('body = "{who}，你好。"', 'body = "你好。"')
    with pytest.raises(TemplateError,
                       match=r"'hello', variant 'easy_read.zh-CN'.*does not use field \{who\}"):
        load(tmp_path, text)


@pytest.mark.parametrize(
    ("section", "variant"),
    [("[hello.zh-CN]", "zh-CN"), ("[hello.en]", "en"),
     ("[hello.easy_read.zh-CN]", "easy_read.zh-CN"), ("[hello.easy_read.en]", "easy_read.en")],
)
def test_every_required_variant_must_be_there(tmp_path: Path, section: str, variant: str) -> None:
    # Drop the section and its two lines.
    lines = GOOD.splitlines()
    at = lines.index(section)
    text = "\n".join(lines[:at] + lines[at + 3:])
    with pytest.raises(TemplateError, match=rf"'hello'.*variant '{variant}' is missing"):
        load(tmp_path, text)


def test_easy_read_must_be_there(tmp_path: Path) -> None:
    text = GOOD.split("[hello.easy_read.zh-CN]")[0]
    with pytest.raises(TemplateError, match="'hello': variant 'easy_read' is missing"):
        load(tmp_path, text)


def test_another_locale_may_be_added(tmp_path: Path) -> None:
    book = load(tmp_path, GOOD + '[hello.zh-HK]\ntitle = "你好"\nbody = "{who}你好"\n')
    assert book.render("hello", {"who": "陈"}, "zh-HK").body == "陈你好"


@pytest.mark.parametrize(
    ("change", "problem"),
    [(('fields = ["who"]', 'fields = "who"'), "must be a list"),
     (('fields = ["who"]', ""), "must be a list"),
     (('fields = ["who"]', 'fields = ["who", "who"]'), "twice"),
     (('title = "Hello"', 'title = ""'), "title must be non-empty"),
     (('title = "Hello"', 'titel = "Hello"'), "unknown key"),
     (('fields = ["who"]', 'fields = ["who", "id_number"]'), "'id_number' would carry"),
     (('fields = ["who"]', 'fields = ["who", "guardian_phone"]'), "'guardian_phone' would")],
)
def test_bad_template_files(tmp_path: Path, change: tuple[str, str], problem: str) -> None:
    old, new = change
    assert old in GOOD
    with pytest.raises(TemplateError, match=rf"'hello'.*{problem}"):
        load(tmp_path, GOOD.replace(old, new, 1))


def test_a_variant_that_is_not_a_table(tmp_path: Path) -> None:
    text = GOOD.replace('[hello.en]\ntitle = "Hello"\nbody = "Hello, {who}!"', "")
    text = text.replace('fields = ["who"]', 'fields = ["who"]\nen = "Hello, {who}!"')
    with pytest.raises(TemplateError, match="'hello', variant 'en': must be a table"):
        load(tmp_path, text)


def test_not_toml_and_empty(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="not valid TOML"):
        load(tmp_path, "[hello\n")
    with pytest.raises(TemplateError, match="no templates"):
        load(tmp_path, "")


@FAST
@given(name=st.text(alphabet=string.ascii_letters + "_.[]:!0123456789 ", min_size=1,
                    max_size=12))
def test_only_plain_identifiers_are_ever_accepted_as_placeholders(name: str) -> None:
    text = GOOD.replace("{who}", "{" + name + "}").replace('["who"]', f'["{name}"]')
    try:
        book = TemplateBook.from_text(text)
    except TemplateError:
        return
    assert name.isidentifier()
    assert book.get("hello").fields == {name}
