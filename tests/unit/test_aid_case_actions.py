"""Completing an aid case's required actions: which input is refused, when a completion is late,
and that a breach is marked once (pure code: no database, broker or network)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aid.domain.case_actions import MAX_NOTE, CaseAction, complete
from runtime.errors import FailedPrecondition, InvalidArgument

OPENED = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
NOW = OPENED + timedelta(hours=30)
SKEW = timedelta(minutes=2)


def red_actions() -> list[CaseAction]:
    return [CaseAction("community_intervention", OPENED + timedelta(hours=24)),
            CaseAction("insurance_referral", OPENED + timedelta(days=7))]


def run(actions: list[CaseAction], action: str, at: datetime, note: str = "",
        resolved: bool = False) -> tuple[CaseAction, bool]:
    return complete(actions, action, note, at, opened_at=OPENED, resolved=resolved, now=NOW,
                    skew=SKEW, by="gw-1")


def refused(actions: list[CaseAction], action: str, at: datetime, note: str = ""
            ) -> dict[str, str]:
    before = [CaseAction(**vars(a)) for a in actions]
    with pytest.raises(InvalidArgument) as bad:
        run(actions, action, at, note)
    assert actions == before  # nothing changed
    return {v.field: v.description for v in bad.value.violations}


def test_completed_on_time() -> None:
    actions = red_actions()
    done, breached = run(actions, "insurance_referral", NOW, "  已转介医保  ")
    assert done is actions[1] and not breached
    assert (done.completed_at, done.completed_by, done.note, done.breached) == (
        NOW, "gw-1", "已转介医保", False)
    assert done.on_time
    assert actions[0].completed_at is None  # the other action is untouched


def test_exactly_at_the_due_time_is_on_time() -> None:
    actions = red_actions()
    done, breached = run(actions, "community_intervention", OPENED + timedelta(hours=24))
    assert done.on_time and not breached and not done.breached


def test_a_late_completion_marks_the_breach_once() -> None:
    actions = red_actions()
    done, breached = run(actions, "community_intervention",
                         OPENED + timedelta(hours=24, microseconds=1))
    assert breached and done.breached and not done.on_time


def test_a_late_completion_after_the_scan_marked_it_does_not_mark_it_again() -> None:
    actions = red_actions()
    actions[0].breached = True  # the scan saw it first
    done, breached = run(actions, "community_intervention", NOW)
    assert not breached and done.breached and not done.on_time
    assert done.completed_at == NOW


def test_an_action_the_case_does_not_have_names_the_case_s_actions() -> None:
    for action in ("charity_relief", "", "Community_Intervention"):
        assert refused(red_actions(), action, NOW) == {
            "action": "must be one of the case's actions: community_intervention, "
                      "insurance_referral"}


def test_completed_at_never_in_the_future_nor_before_the_case_was_opened() -> None:
    assert complete(red_actions(), "insurance_referral", "", NOW + SKEW, opened_at=OPENED,
                    resolved=False, now=NOW, skew=SKEW, by="x")[0].on_time  # clock skew allowed
    assert refused(red_actions(), "insurance_referral", NOW + SKEW + timedelta(seconds=1)) == {
        "completed_at": "cannot be in the future"}
    assert refused(red_actions(), "insurance_referral", OPENED - timedelta(microseconds=1)) == {
        "completed_at": "cannot be before the case was opened"}
    run(red_actions(), "insurance_referral", OPENED)  # the moment it was opened: allowed


def test_note_at_most_1000_characters() -> None:
    run(red_actions(), "insurance_referral", NOW, "备" * MAX_NOTE)
    run(red_actions(), "insurance_referral", NOW, " " + "备" * MAX_NOTE + "\n")  # stripped
    assert refused(red_actions(), "insurance_referral", NOW, "备" * (MAX_NOTE + 1)) == {
        "note": "at most 1000 characters"}
    assert MAX_NOTE == 1000


def test_every_bad_field_at_once() -> None:
    assert set(refused(red_actions(), "x", NOW + timedelta(days=1), "n" * 1001)) == {
        "action", "completed_at", "note"}


def test_completing_twice_is_refused() -> None:
    actions = red_actions()
    run(actions, "insurance_referral", NOW - timedelta(hours=1), "第一次")
    with pytest.raises(FailedPrecondition, match="insurance_referral was already completed"):
        run(actions, "insurance_referral", NOW, "第二次")
    assert (actions[1].completed_at, actions[1].note) == (NOW - timedelta(hours=1), "第一次")


def test_a_resolved_case_s_actions_cannot_be_completed() -> None:
    actions = red_actions()
    with pytest.raises(FailedPrecondition, match="the case is resolved"):
        run(actions, "insurance_referral", NOW, resolved=True)
    assert actions == red_actions()


def test_bad_input_is_reported_before_the_case_s_state() -> None:
    with pytest.raises(InvalidArgument):
        run(red_actions(), "nope", NOW, resolved=True)
