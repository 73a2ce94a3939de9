"""The words the notification service puts into templates."""

from __future__ import annotations

import pytest
from google.protobuf import symbol_database
from google.protobuf.descriptor import FieldDescriptor

from aid.domain.warnings import REQUIRED_ACTIONS
from notification.domain.rules import default_rules, enum_token
from notification.domain.templates import TemplateError, default_book
from notification.domain.wording import default_wording, parse_wording

GOOD = {"household": {k: {"zh-CN": "x", "en": "x"} for k in ("own", "named", "unknown")},
        "label": {k: {"zh-CN": "{ref}", "en": "{ref}"} for k in ("person", "household")}}


def test_every_enum_and_bool_value_a_rule_can_feed_has_words() -> None:
    """A rule feeding a token nobody translated would show 'red' to a reader of Chinese."""
    wording = default_wording()
    checked = 0
    for rule in default_rules().rules:
        descriptor = symbol_database.Default().GetSymbol(rule.event_type).DESCRIPTOR
        for target, source in rule.fields.items():
            field = descriptor.fields_by_name[source.field]
            if field.type == FieldDescriptor.TYPE_ENUM:
                tokens = [enum_token(field.enum_type, v.number)
                          for v in field.enum_type.values if v.number]
            elif field.type == FieldDescriptor.TYPE_BOOL:
                tokens = ["true", "false"]
            else:
                continue
            for token in tokens:
                for locale in ("zh-CN", "en"):
                    words = wording.token(target, token, locale)
                    assert words and words != token, (rule.name, target, token, locale)
                    checked += 1
    assert checked >= 10


def test_every_warning_level_a_rule_matches_has_actions() -> None:
    wording = default_wording()
    for level in ("red", "orange", "yellow"):
        assert wording.actions_for(level, "zh-CN") and wording.actions_for(level, "en")


def test_tokens_are_translated_and_other_text_left_alone() -> None:
    wording = default_wording()
    out = wording.translate({"level": "red", "team": "网格一队", "decision": "true"}, "zh-CN")
    assert out == {"level": "红色", "team": "网格一队", "decision": "已批准"}
    assert wording.translate({"level": "red"}, "en") == {"level": "Red"}
    assert wording.token("item", "an_unnamed_item", "zh-CN") == "an_unnamed_item"


def test_households_are_named_for_their_reader() -> None:
    wording = default_wording()
    assert wording.household_name("zh-CN", own=True) == "您家"
    assert wording.household_name("zh-CN", own=False, name="王芳") == "王芳家"
    assert wording.household_name("en", own=False, name="Wang Fang") == "Wang Fang's household"
    assert wording.household_name("en", own=False) == "a household"


def test_workers_read_a_label_with_the_record_s_reference_never_a_name() -> None:
    wording = default_wording()
    assert wording.label("person", "zh-CN", "5b0f7c1e") == "编号5b0f7c1e的服务对象"
    assert wording.label("household", "zh-CN", "5b0f7c1e") == "编号5b0f7c1e服务对象的家庭"
    assert wording.label("person", "en", "5b0f7c1e") == "person 5b0f7c1e"
    assert wording.label("household", "en", "5b0f7c1e") == "the household of person 5b0f7c1e"


def test_a_rendered_red_warning_reads_right_in_chinese() -> None:
    wording = default_wording()
    fields = wording.translate({"level": "red"}, "zh-CN")
    fields["household"] = wording.household_name("zh-CN", own=True)
    fields["actions"] = wording.actions_for("red", "zh-CN")
    text = default_book().render("warning_raised", fields, "zh-CN")
    assert text.title == "红色预警：我们来帮您"
    assert "您家" in text.body and "24小时内上门" in text.body and "{" not in text.body


def test_every_required_action_of_a_case_reads_as_words() -> None:
    """CaseActionBreached carries the action's code; a reader sees words in their language."""
    wording = default_wording()
    codes = {action for actions in REQUIRED_ACTIONS.values() for action, _ in actions}
    assert codes == {"community_intervention", "insurance_referral", "charity_relief",
                     "supermarket_supplies"}
    for code in codes:
        for locale in ("zh-CN", "en"):
            words = wording.token("action", code, locale)
            assert words != code and "_" not in words, (code, locale)
    assert wording.token("action", "charity_relief", "zh-CN") == "慈善救助"
    assert wording.token("action", "charity_relief", "en") == "charity relief"


def test_a_rendered_case_action_breach_reads_right() -> None:
    wording = default_wording()
    for locale, household, expected in (
            ("zh-CN", "王芳家", "王芳家的帮扶事项「慈善救助」应在2024-05-03 16:00前完成"),
            ("en", "Wang Fang's household",
             "The charity relief for Wang Fang's household was due by 2024-05-03 16:00")):
        fields = wording.translate({"action": "charity_relief", "due": "2024-05-03 16:00"},
                                   locale)
        fields["household"] = household
        for easy_read in (False, True):
            text = default_book().render("case_action_breached", fields, locale, easy_read)
            assert "charity_relief" not in text.title + text.body and "{" not in text.body
        assert expected in default_book().render("case_action_breached", fields, locale).body


@pytest.mark.parametrize(("data", "message"), [
    ({**GOOD, "colour": {}}, "unknown table"),
    ({"household": {"own": {"zh-CN": "x", "en": "x"}}}, "household.named is missing"),
    ({**GOOD, "token": {"level": {"red": {"zh-CN": "红"}}}}, "en is missing"),
    ({**GOOD, "actions": {"red": "text"}}, "table of locale"),
    ({"household": GOOD["household"]}, "label.person is missing"),
    ({**GOOD, "label": {**GOOD["label"], "household": {"zh-CN": "某户", "en": "{ref}"}}},
     "must show the reference"),
])
def test_bad_wording_is_refused_at_load(data: dict[str, object], message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        parse_wording(data)


def test_a_case_action_breach_names_the_household_by_its_label_for_the_grid_team() -> None:
    wording = default_wording()
    fields = wording.translate({"action": "charity_relief", "due": "2024-05-03 16:00"}, "zh-CN")
    fields["household"] = wording.label("household", "zh-CN", "5b0f7c1e")
    text = default_book().render("case_action_breached", fields, "zh-CN")
    assert text.body.startswith("编号5b0f7c1e服务对象的家庭的帮扶事项「慈善救助」")
