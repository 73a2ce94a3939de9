"""Channel choice by who the recipient is (issue 4): a person with a visual disability is never
sent only a text, nor a deaf person only a voice call; an explicit preference wins where it is
safe; nobody is dropped without a recorded reason (pure code)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notification.domain.channels import (
    APP,
    HEARING,
    IN_PERSON,
    INTELLECTUAL,
    MENTAL,
    MESSAGING_GROUP,
    MULTIPLE,
    PHONE_CALL,
    PHYSICAL,
    SMS,
    SPEECH,
    VISUAL,
    Plan,
    Recipient,
    choose,
)

FAST = settings(max_examples=300, deadline=None)
PHONE = "13800000000"  # a made-up number
CHANNELS = [0, PHONE_CALL, SMS, APP, MESSAGING_GROUP, IN_PERSON]
TEXT = (SMS, APP, MESSAGING_GROUP)  # a grid group message is text too

recipients = st.builds(
    Recipient,
    person_id=st.just("p1"),
    category=st.sampled_from([0, VISUAL, HEARING, SPEECH, PHYSICAL, INTELLECTUAL, MENTAL,
                              MULTIPLE]),
    preferred_channel=st.sampled_from(CHANNELS),
    phone=st.sampled_from(["", PHONE]),
    guardian_phone=st.sampled_from(["", "13900000000"]),
    has_guardian=st.booleans(),
    has_app=st.booleans(),
)


def person(category: int, preferred: int = 0, phone: str = PHONE,
           has_guardian: bool = False, has_app: bool = True) -> Recipient:
    return Recipient("p1", category, preferred, phone,
                     "13900000000" if has_guardian else "", has_guardian, has_app)


# --- visual --------------------------------------------------------------------------------------
@pytest.mark.parametrize("preferred", CHANNELS)
def test_visual_gets_a_voice_call_and_a_text(preferred: int) -> None:
    plan = choose(person(VISUAL, preferred))
    assert PHONE_CALL in plan.channels
    assert set(plan.channels) & set(TEXT)
    assert not plan.undeliverable


def test_visual_is_never_sent_sms_alone() -> None:
    for preferred in CHANNELS:
        for phone in ("", PHONE):
            plan = choose(person(VISUAL, preferred, phone))
            assert plan.channels != (SMS,)


# --- hearing -------------------------------------------------------------------------------------
@pytest.mark.parametrize("preferred", CHANNELS)
@pytest.mark.parametrize("phone", ["", PHONE])
def test_hearing_gets_text_with_a_flash_alert_and_never_a_call(preferred: int,
                                                               phone: str) -> None:
    plan = choose(person(HEARING, preferred, phone))
    assert plan.flash_alert
    assert PHONE_CALL not in plan.channels
    assert APP in plan.channels
    if phone:
        assert SMS in plan.channels


def test_hearing_preferring_a_phone_call_has_it_set_aside() -> None:
    plan = choose(person(HEARING, PHONE_CALL))
    assert plan.channels == (SMS, APP)
    assert plan.flash_alert
    assert any("set aside" in r for r in plan.reasons)


# --- speech --------------------------------------------------------------------------------------
@pytest.mark.parametrize("preferred", CHANNELS)
def test_speech_gets_text_never_a_call_to_answer(preferred: int) -> None:
    plan = choose(person(SPEECH, preferred))
    assert PHONE_CALL not in plan.channels
    assert set(plan.channels) & set(TEXT)


# --- intellectual, mental ------------------------------------------------------------------------
@pytest.mark.parametrize("has_guardian", [True, False])
def test_intellectual_gets_easy_read_and_a_guardian_copy_when_there_is_one(
        has_guardian: bool) -> None:
    plan = choose(person(INTELLECTUAL, has_guardian=has_guardian))
    assert plan.easy_read
    assert plan.guardian_copy is has_guardian
    assert plan.channels and not plan.undeliverable


@pytest.mark.parametrize("has_guardian", [True, False])
def test_mental_copies_a_named_guardian(has_guardian: bool) -> None:
    plan = choose(person(MENTAL, SMS, has_guardian=has_guardian))
    assert plan.guardian_copy is has_guardian
    assert plan.channels[0] == SMS
    assert not plan.easy_read


# --- physical, multiple, workers -----------------------------------------------------------------
def test_physical_preferring_sms_with_a_phone_gets_sms_first() -> None:
    plan = choose(person(PHYSICAL, SMS))
    assert plan.channels[0] == SMS
    assert not (plan.easy_read or plan.flash_alert or plan.guardian_copy)


def test_physical_without_a_preference_gets_the_app() -> None:
    assert choose(person(PHYSICAL)).channels == (APP,)


def test_multiple_gets_everything_each_part_needs() -> None:
    plan = choose(person(MULTIPLE, has_guardian=True))
    assert PHONE_CALL in plan.channels and SMS in plan.channels and APP in plan.channels
    assert plan.flash_alert and plan.easy_read and plan.guardian_copy


def test_with_nothing_to_decide_the_app_if_linked_else_a_text() -> None:
    assert choose(person(0)).channels == (APP,)
    assert choose(person(PHYSICAL, has_app=False)).channels == (SMS,)


@pytest.mark.parametrize("preferred", [MESSAGING_GROUP, IN_PERSON])
def test_a_group_or_a_visit_is_left_to_the_worker_and_a_sendable_channel_used(
        preferred: int) -> None:
    plan = choose(person(PHYSICAL, preferred, has_app=False))
    assert plan.channels == (SMS,)
    assert any("worker's to use" in r for r in plan.reasons)
    assert choose(person(HEARING, preferred)).channels == (SMS, APP)


# --- preferences ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("category", "preferred"),
    [(PHYSICAL, SMS), (PHYSICAL, PHONE_CALL), (MENTAL, APP),
     (INTELLECTUAL, PHONE_CALL), (VISUAL, PHONE_CALL), (HEARING, SMS), (SPEECH, SMS),
     (VISUAL, SMS)],
)
def test_a_safe_preference_comes_first(category: int, preferred: int) -> None:
    assert choose(person(category, preferred)).channels[0] == preferred


@pytest.mark.parametrize(("category", "preferred"), [(HEARING, APP), (VISUAL, APP), (SPEECH, APP)])
def test_a_safe_preference_wins_even_when_the_category_already_uses_it(category: int,
                                                                       preferred: int) -> None:
    # Issue 4: "an explicit preference wins where it is safe".
    assert choose(person(category, preferred)).channels[0] == preferred


@pytest.mark.parametrize(("category", "preferred"), [(HEARING, PHONE_CALL),
                                                     (SPEECH, PHONE_CALL)])
def test_an_unsafe_preference_is_set_aside_with_a_reason(category: int, preferred: int) -> None:
    plan = choose(person(category, preferred))
    assert PHONE_CALL not in plan.channels
    assert any("set aside" in r for r in plan.reasons)


# --- undeliverable -------------------------------------------------------------------------------
@pytest.mark.parametrize(("category", "preferred"), [(PHYSICAL, SMS), (PHYSICAL, PHONE_CALL),
                                                     (0, SMS), (MENTAL, PHONE_CALL)])
def test_no_reachable_channel_is_undeliverable_with_a_reason(category: int,
                                                             preferred: int) -> None:
    plan = choose(person(category, preferred, phone="", has_app=False))
    assert plan.channels == ()
    assert plan.undeliverable
    assert "no reachable channel" in plan.undeliverable


@pytest.mark.parametrize(("category", "preferred"), [(PHYSICAL, SMS), (0, PHONE_CALL)])
def test_the_app_reaches_those_it_can_when_the_phone_cannot(category: int,
                                                             preferred: int) -> None:
    plan = choose(person(category, preferred, phone="", has_app=True))
    assert plan.channels == (APP,) and not plan.undeliverable
    assert any("the app instead" in r for r in plan.reasons)


def test_a_guardian_without_a_phone_gets_no_copy_and_the_plan_says_so() -> None:
    r = Recipient("p1", INTELLECTUAL, 0, PHONE, "", True, True)
    plan = choose(r)
    assert not plan.guardian_copy
    assert any("guardian has no phone" in reason for reason in plan.reasons)


# --- for anyone ----------------------------------------------------------------------------------
@FAST
@given(recipients)
def test_never_an_empty_plan_without_a_reason(r: Recipient) -> None:
    plan = choose(r)
    assert isinstance(plan, Plan)
    assert bool(plan.channels) != bool(plan.undeliverable)
    assert len(set(plan.channels)) == len(plan.channels)


@FAST
@given(recipients)
def test_phone_channels_only_with_a_phone(r: Recipient) -> None:
    if not r.phone:
        assert not set(choose(r).channels) & {PHONE_CALL, SMS}


@FAST
@given(recipients)
def test_the_disability_rules_hold_whatever_the_preference(r: Recipient) -> None:
    plan = choose(r)
    if r.category in (HEARING, MULTIPLE):
        assert plan.flash_alert
        assert plan.channels != (PHONE_CALL,)
        # text, or a visit by a worker who writes it down; never a call
        assert plan.undeliverable or set(plan.channels) & {*TEXT, IN_PERSON}
    if r.category in (HEARING, SPEECH):
        assert PHONE_CALL not in plan.channels
    if r.category in (VISUAL, MULTIPLE) and r.phone:
        assert PHONE_CALL in plan.channels and set(plan.channels) & set(TEXT)
    if r.category in (INTELLECTUAL, MULTIPLE):
        assert plan.easy_read
        assert plan.guardian_copy is (r.has_guardian and bool(r.guardian_phone))
    if r.category not in (INTELLECTUAL, MULTIPLE, MENTAL):
        assert not plan.guardian_copy
    if r.category not in (HEARING, MULTIPLE):
        assert not plan.flash_alert


@FAST
@given(recipients)
def test_a_safe_reachable_preference_is_always_used(r: Recipient) -> None:
    unsafe = r.preferred_channel == PHONE_CALL and r.category in (HEARING, SPEECH)
    reachable = (r.has_app if r.preferred_channel == APP
                 else r.preferred_channel in (PHONE_CALL, SMS) and r.phone)
    if r.preferred_channel and not unsafe and reachable:
        assert r.preferred_channel in choose(r).channels
