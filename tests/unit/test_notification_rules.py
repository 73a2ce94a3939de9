"""Notice rules: which event produces which notice, for whom and how urgently. The loader's
checks, matching with conditions, and payload values as template text (pure code)."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf import symbol_database
from hypothesis import given, settings
from hypothesis import strategies as st

from cdsp.events.v1 import aid_pb2, audit_pb2, registry_pb2
from notification.domain.rules import (
    Rule,
    RuleBook,
    RulesError,
    default_rules,
    enum_token,
    local_time,
    match,
    yuan,
)
from notification.domain.templates import render

FAST = settings(max_examples=200, deadline=None)
YELLOW, ORANGE, RED = aid_pb2.WARNING_LEVEL_YELLOW, aid_pb2.WARNING_LEVEL_ORANGE, \
    aid_pb2.WARNING_LEVEL_RED
WARNING = "cdsp.events.v1.WarningRaised"

GOOD = """
[[rule]]
name = "big_relief"
event = "cdsp.events.v1.ReliefDecided"
when = { granted = true, amount_fen_at_least = 100000 }
recipients = ["resident", "guardian"]
template = "relief_decided"
urgency = "normal"
fields = { decision = "granted", amount = { field = "amount_fen", as = "yuan" } }
"""


def load(tmp_path: Path, text: str) -> RuleBook:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return RuleBook.load(path)


def names(rules: list[Rule]) -> list[str]:
    return [r.name for r in rules]


# --- the packaged rules --------------------------------------------------------------------------
def test_packaged_rules_load() -> None:
    assert len(default_rules().rules) >= 7


def test_red_warning_reaches_guardian_grid_team_and_resident_urgently() -> None:
    [rule] = match(WARNING, aid_pb2.WarningRaised(level=RED, household_id="h1"))
    assert set(rule.recipients) == {"guardian", "grid_team", "resident"}
    assert rule.urgent and rule.template == "warning_raised"


@pytest.mark.parametrize("level", [ORANGE, YELLOW])
def test_orange_and_yellow_reach_resident_and_liaison_normally(level: int) -> None:
    [rule] = match(WARNING, aid_pb2.WarningRaised(level=level))  # type: ignore[arg-type]
    assert set(rule.recipients) == {"resident", "liaison"}
    assert not rule.urgent


def test_an_unspecified_level_produces_nothing() -> None:
    assert match(WARNING, aid_pb2.WarningRaised()) == []


@pytest.mark.parametrize(
    ("payload", "recipients", "urgency"),
    [(aid_pb2.RequestDispatched(team="网格一队"), {"resident"}, "urgent"),
     (aid_pb2.SlaBreached(deadline="arrival"), {"grid_team"}, "urgent"),
     (aid_pb2.CaseActionBreached(action="charity_relief"), {"grid_team", "liaison"}, "urgent"),
     (aid_pb2.ReliefDecided(granted=True, amount_fen=50_000), {"resident"}, "normal"),
     (aid_pb2.ReliefDecided(granted=False), {"resident"}, "normal"),
     (aid_pb2.KitLowOnStock(item="轮椅", available=1), {"grid_team"}, "normal"),
     (aid_pb2.SickbedVisitOverdue(person_id="p1"), {"liaison", "grid_team"}, "normal"),
     (registry_pb2.VerificationDue(person_id="p1", month="2026-12"), {"liaison"}, "normal"),
     (registry_pb2.VerificationOverdue(person_id="p1"), {"liaison", "grid_team"}, "normal"),
     (registry_pb2.CertificationDue(person_id="p1"), {"liaison", "grid_team"}, "normal"),
     (audit_pb2.BreakGlassUsed(subject="admin"), {"grid_team"}, "normal")],
)
def test_each_event_reaches_whom_it_should(payload: object, recipients: set[str],
                                           urgency: str) -> None:
    assert hasattr(payload, "DESCRIPTOR")
    [rule] = match(payload.DESCRIPTOR.full_name, payload)  # type: ignore[arg-type]
    assert set(rule.recipients) == recipients
    assert rule.urgency == urgency


@pytest.mark.parametrize(
    "payload",
    [aid_pb2.CaseResolved(), aid_pb2.KitLent(), aid_pb2.RequestArrived(),
     registry_pb2.PersonRegistered(), registry_pb2.VerificationRecorded()],
)
def test_events_without_a_rule_produce_nothing(payload: object) -> None:
    assert match(payload.DESCRIPTOR.full_name, payload) == []  # type: ignore[attr-defined,arg-type]


def test_a_payload_of_another_type_is_refused() -> None:
    with pytest.raises(RulesError, match=r"is a cdsp\.events\.v1\.SlaBreached, not"):
        match(WARNING, aid_pb2.SlaBreached())


def test_every_packaged_rule_renders_its_template_from_payload_and_context() -> None:
    # The loud failure at render time can never be reached by a packaged rule: fields from the
    # payload plus the declared context cover the template.
    for rule in default_rules().rules:
        payload = symbol_database.Default().GetSymbol(rule.event_type)()
        fed = rule.feed(payload) | {name: "x" for name in rule.context}
        for locale in ("zh-CN", "en"):
            for easy_read in (False, True):
                render(rule.template, fed, locale, easy_read)


# --- payload values as text ----------------------------------------------------------------------
def test_a_record_check_reminder_names_the_person_the_month_and_the_5th_local_time() -> None:
    overdue = registry_pb2.VerificationOverdue(person_id="p1", month="2026-12")
    overdue.due_by.seconds = 1_796_400_000  # 2026-12-04 16:00 UTC: the 5th, 00:00 in Shanghai
    [rule] = match(overdue.DESCRIPTOR.full_name, overdue)
    fed = rule.feed(overdue)
    assert fed == {"month": "2026-12", "due": "2026-12-05 00:00"}
    assert rule.context == {"person"}
    text = render(rule.template, fed | {"person": "王小明"}, "zh-CN")
    assert "王小明" in text.body and "2026-12" in text.body and "2026-12-05 00:00" in text.body


def test_feed_turns_payload_values_into_text() -> None:
    dispatched = aid_pb2.RequestDispatched(team="网格一队")
    dispatched.arrival_due_at.seconds = 1_714_545_000  # 2024-05-01 06:30 UTC
    [rule] = match(dispatched.DESCRIPTOR.full_name, dispatched)
    assert rule.feed(dispatched) == {"team": "网格一队", "due": "2024-05-01 14:30"}

    relief = aid_pb2.ReliefDecided(granted=True, amount_fen=120_050)
    [rule] = match(relief.DESCRIPTOR.full_name, relief)
    assert rule.feed(relief) == {"decision": "true", "amount": "1200.50"}

    warning = aid_pb2.WarningRaised(level=RED)
    [rule] = match(WARNING, warning)
    assert rule.feed(warning) == {"level": "red"}
    assert rule.context == {"household", "actions"}

    breached = aid_pb2.CaseActionBreached(action="charity_relief", household_id="h1")
    breached.due_at.seconds = 1_714_545_000
    [rule] = match(breached.DESCRIPTOR.full_name, breached)
    assert rule.feed(breached) == {"action": "charity_relief", "due": "2024-05-01 14:30"}
    assert rule.context == {"household"}

    kit = aid_pb2.KitLowOnStock(item="助听器", available=0)
    [rule] = match(kit.DESCRIPTOR.full_name, kit)
    assert rule.feed(kit) == {"item": "助听器", "available": "0"}


@FAST
@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_yuan_is_exact(fen: int) -> None:
    text = yuan(fen)
    whole, _, cents = text.lstrip("-").partition(".")
    assert len(cents) == 2
    assert (-1 if text.startswith("-") else 1) * (int(whole) * 100 + int(cents)) == fen


def test_enum_tokens_and_local_time() -> None:
    level = aid_pb2.WarningRaised.DESCRIPTOR.fields_by_name["level"].enum_type
    assert level is not None
    assert [enum_token(level, n) for n in range(4)] == ["unspecified", "yellow", "orange", "red"]
    assert enum_token(level, 99) == "99"
    ts = aid_pb2.RequestDispatched().arrival_due_at
    ts.seconds = 16 * 3600  # 1970-01-02 00:00 at UTC+8
    assert local_time(ts) == "1970-01-02 00:00"


# --- conditions ----------------------------------------------------------------------------------
@FAST
@given(granted=st.booleans(), amount=st.integers(min_value=0, max_value=10**9))
def test_conditions_all_have_to_hold(granted: bool, amount: int) -> None:
    book = RuleBook.from_text(GOOD)
    event = aid_pb2.ReliefDecided(granted=granted, amount_fen=amount)
    expected = ["big_relief"] if granted and amount >= 100_000 else []
    assert names(book.match("cdsp.events.v1.ReliefDecided", event)) == expected


@FAST
@given(level=st.sampled_from([0, YELLOW, ORANGE, RED]))
def test_at_least_and_in_and_equals_on_enums(level: int) -> None:
    text = "\n".join(
        f"""
[[rule]]
name = "{name}"
event = "{WARNING}"
when = {{ {when} }}
recipients = ["grid_team"]
template = "sla_breached"
urgency = "normal"
context = ["deadline"]
""" for name, when in [("at_least_orange", "level_at_least = 'WARNING_LEVEL_ORANGE'"),
                       ("at_least_2", "level_at_least = 2"),
                       ("red", "level = 'WARNING_LEVEL_RED'"),
                       ("low", "level_in = ['WARNING_LEVEL_YELLOW', 1, 0]"),
                       ("reason", "reason = 'x'")])
    book = RuleBook.from_text(text)
    got = names(book.match(WARNING, aid_pb2.WarningRaised(level=level,  # type: ignore[arg-type]
                                                          reason="x")))
    expected = ["at_least_orange", "at_least_2"] * (level >= ORANGE) + ["red"] * (level == RED) \
        + ["low"] * (level <= YELLOW) + ["reason"]
    assert got == expected


def test_string_in_condition(tmp_path: Path) -> None:
    book = load(tmp_path, """
[[rule]]
name = "arrival_only"
event = "cdsp.events.v1.SlaBreached"
when = { deadline_in = ["arrival"] }
recipients = ["grid_team"]
template = "sla_breached"
urgency = "urgent"
fields = { deadline = "deadline" }
""")
    assert names(book.match("cdsp.events.v1.SlaBreached", aid_pb2.SlaBreached(
        deadline="arrival"))) == ["arrival_only"]
    assert book.match("cdsp.events.v1.SlaBreached", aid_pb2.SlaBreached(deadline="meeting")) == []


# --- the loader's checks -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "problem"),
    [(('event = "cdsp.events.v1.ReliefDecided"', 'event = "cdsp.events.v1.ReliefDecidd"'),
      "unknown event type 'cdsp.events.v1.ReliefDecidd'"),
     (('event = "cdsp.events.v1.ReliefDecided"', 'event = "google.protobuf.Timestamp"'),
      "unknown event type"),
     (('event = "cdsp.events.v1.ReliefDecided"', "event = 3"), "`event` must be"),
     (('recipients = ["resident", "guardian"]', 'recipients = ["resident", "mayor"]'),
      "unknown recipient 'mayor'"),
     (('recipients = ["resident", "guardian"]', "recipients = []"), "non-empty list"),
     (('recipients = ["resident", "guardian"]', 'recipients = ["resident", "resident"]'),
      "listed twice"),
     (('template = "relief_decided"', 'template = "relief_decidd"'),
      "unknown template 'relief_decidd'"),
     (('urgency = "normal"', 'urgency = "asap"'), "urgency must be one of"),
     (("granted = true,", "grantd = true,"), "ReliefDecided has no field 'grantd'"),
     (("amount_fen_at_least", "amount_fen_at_most"), "no field 'amount_fen_at_most'"),
     (("granted = true,", "granted = 1,"), "granted is a bool"),
     (("amount_fen_at_least = 100000", "amount_fen_at_least = '1'"), "is an integer"),
     (("granted = true,", "refusal_limit_at_least = 'a',"), "at_least needs a number"),
     (("granted = true,", "granted_in = [],"), "needs a non-empty list"),
     (("when = {", "when = 3 #"), "`when` must be a table"),
     (('decision = "granted"', 'decision = "granted_flag"'), "no field 'granted_flag'"),
     (('decision = "granted"', 'verdict = "granted"'),
      "template 'relief_decided' has no field 'verdict'"),
     (('as = "yuan"', 'as = "euro"'), "unknown conversion 'euro'"),
     (('as = "yuan"', 'as = "time"'), "needs a Timestamp field"),
     (('decision = "granted"', 'decision = { field = "granted", as = "yuan" }'),
      "needs an integer amount in fen"),
     (('decision = "granted"', "decision = 3"), "give a payload field name"),
     (('decision = "granted", ', ""), "needs field\\(s\\) decision that neither"),
     (('name = "big_relief"', 'name = ""'), "rule #1: `name` must be"),
     (('urgency = "normal"', 'urgency = "normal"\ncolour = "red"'), "unknown key\\(s\\) colour")],
)
def test_bad_rules_files(tmp_path: Path, change: tuple[str, str], problem: str) -> None:
    old, new = change
    assert old in GOOD
    with pytest.raises(RulesError, match=problem) as caught:
        load(tmp_path, GOOD.replace(old, new, 1))
    if "rule #" not in problem:
        assert caught.value.message.startswith("rule 'big_relief': ")


def test_enum_value_names_are_checked(tmp_path: Path) -> None:
    text = GOOD.replace("cdsp.events.v1.ReliefDecided", WARNING).replace(
        "granted = true, amount_fen_at_least = 100000", "level = 'WARNING_LEVEL_PURPLE'")
    with pytest.raises(RulesError, match=r"'WARNING_LEVEL_PURPLE' is not a value of "
                                         r"cdsp\.events\.v1\.WarningLevel"):
        load(tmp_path, text)


def test_repeated_and_message_fields_cannot_be_tested(tmp_path: Path) -> None:
    text = GOOD.replace("cdsp.events.v1.ReliefDecided", WARNING).replace(
        "granted = true, amount_fen_at_least = 100000", "person_ids = 'p1'")
    with pytest.raises(RulesError, match="only single scalar fields"):
        load(tmp_path, text)


def test_context_checks(tmp_path: Path) -> None:
    both = GOOD.replace('urgency = "normal"', 'urgency = "normal"\ncontext = ["decision"]')
    with pytest.raises(RulesError, match="'decision' is both"):
        load(tmp_path, both)
    stranger = GOOD.replace('urgency = "normal"', 'urgency = "normal"\ncontext = ["mood"]')
    with pytest.raises(RulesError, match="context field 'mood' is not a field"):
        load(tmp_path, stranger)


def test_a_timestamp_needs_as_time(tmp_path: Path) -> None:
    text = GOOD.replace("cdsp.events.v1.ReliefDecided", "cdsp.events.v1.RequestDispatched") \
        .replace("when = { granted = true, amount_fen_at_least = 100000 }\n", "") \
        .replace("relief_decided", "request_dispatched") \
        .replace('decision = "granted", amount = { field = "amount_fen", as = "yuan" }',
                 'team = "team", due = "arrival_due_at"')
    with pytest.raises(RulesError, match="'arrival_due_at' is a message; use `as = time`"):
        load(tmp_path, text)


def test_duplicate_names_empty_files_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="rule 'big_relief': the name is used twice"):
        load(tmp_path, GOOD + GOOD)
    with pytest.raises(RulesError, match="no \\[\\[rule\\]\\]"):
        load(tmp_path, "")
    with pytest.raises(RulesError, match="not valid TOML"):
        load(tmp_path, "[[rule]\n")
    with pytest.raises(RulesError, match="unknown top-level key\\(s\\) rules"):
        load(tmp_path, GOOD.replace("[[rule]]", "[[rules]]"))


def test_registry_events_are_known(tmp_path: Path) -> None:
    text = """
[[rule]]
name = "archived"
event = "cdsp.events.v1.PersonArchived"
when = { reason = "ARCHIVE_REASON_MOVED_OUT" }
recipients = ["liaison"]
template = "sla_breached"
urgency = "normal"
context = ["deadline"]
"""
    book = load(tmp_path, text)
    moved = registry_pb2.PersonArchived(reason=registry_pb2.ARCHIVE_REASON_MOVED_OUT)
    assert names(book.match("cdsp.events.v1.PersonArchived", moved)) == ["archived"]
