"""The service loop's state machine, deadlines and input checks, without I/O."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from aid.config import AidRules
from aid.domain import requests as rq
from aid.domain.requests import ServiceRequest
from runtime.errors import FailedPrecondition, InvalidArgument

RULES = AidRules()
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
PATH = "/3505/350502/"


def submitted(online: bool = True) -> ServiceRequest:
    return rq.new_request("00000000-0000-4000-8000-000000000001",
                          "00000000-0000-4000-8000-000000000002", PATH, "  轮椅坏了  ", online,
                          T0, RULES)


def dispatched() -> ServiceRequest:
    r = submitted()
    rq.dispatch(r, "网格一队", T0 + timedelta(minutes=1))
    return r


def on_site() -> ServiceRequest:
    r = dispatched()
    assert not rq.arrive(r, T0 + timedelta(minutes=20))
    return r


def escalated() -> ServiceRequest:
    r = on_site()
    rq.escalate(r, "需要协会会议决定", T0 + timedelta(minutes=40), RULES)
    return r


def resolved() -> ServiceRequest:
    r = on_site()
    rq.resolve(r, "已解决", T0 + timedelta(minutes=50))
    return r


def fields(e: InvalidArgument) -> set[str]:
    return {v.field for v in e.violations}


def test_submission_sets_the_arrival_deadline_and_strips_the_text() -> None:
    r = submitted()
    assert r.status == rq.SUBMITTED and r.description == "轮椅坏了"
    assert r.arrival_due_at == T0 + timedelta(minutes=30)
    assert (r.arrived_at, r.meeting_due_at, r.resolved_at) == (None, None, None)
    assert not r.arrival_breached and not r.meeting_breached and r.submitted_online


def test_the_loop_dispatch_arrive_resolve() -> None:
    r = submitted()
    rq.dispatch(r, " 网格一队 ", T0 + timedelta(minutes=1))
    assert (r.status, r.team) == (rq.DISPATCHED, "网格一队")
    assert rq.arrive(r, T0 + timedelta(minutes=30)) is False  # exactly at the deadline: on time
    assert r.status == rq.ON_SITE and r.arrived_on_time and not r.arrival_breached
    assert rq.resolve(r, "已修好轮椅", T0 + timedelta(hours=1)) is False
    assert (r.status, r.result, r.resolved_at) == (rq.RESOLVED, "已修好轮椅",
                                                  T0 + timedelta(hours=1))


def test_escalation_sets_the_meeting_deadline_and_the_meeting_resolves() -> None:
    r = escalated()
    assert r.status == rq.ESCALATED and r.escalation_reason == "需要协会会议决定"
    assert r.meeting_due_at == T0 + timedelta(minutes=40, hours=24)
    assert rq.resolve(r, "会议决定临时救助", T0 + timedelta(hours=20)) is False
    assert r.status == rq.RESOLVED and not r.meeting_breached


def test_a_late_arrival_is_recorded_and_marks_the_breach_once() -> None:
    r = submitted()
    rq.dispatch(r, "team", T0)
    assert rq.arrive(r, T0 + timedelta(minutes=31)) is True
    assert r.status == rq.ON_SITE and not r.arrived_on_time and r.arrival_breached

    scanned = submitted()  # the scan marked it already: the late arrival does not count again
    rq.dispatch(scanned, "team", T0)
    scanned.arrival_breached = True
    assert rq.arrive(scanned, T0 + timedelta(hours=2)) is False
    assert scanned.arrival_breached and not scanned.arrived_on_time


def test_a_late_meeting_marks_the_meeting_breach_once() -> None:
    r = escalated()
    assert rq.resolve(r, "迟到的决定", T0 + timedelta(days=2)) is True
    assert r.meeting_breached
    marked = escalated()
    marked.meeting_breached = True
    assert rq.resolve(marked, "迟到的决定", T0 + timedelta(days=2)) is False
    on_site_resolved = on_site()  # no meeting, no meeting deadline
    assert rq.resolve(on_site_resolved, "ok", T0 + timedelta(days=9)) is False
    assert not on_site_resolved.meeting_breached


STEPS: dict[str, Callable[[ServiceRequest], object]] = {
    rq.DISPATCH: lambda r: rq.dispatch(r, "team", T0),
    rq.ARRIVE: lambda r: rq.arrive(r, T0 + timedelta(minutes=5)),
    rq.ESCALATE: lambda r: rq.escalate(r, "why", T0, RULES),
    rq.RESOLVE: lambda r: rq.resolve(r, "done", T0),
}
AT: dict[int, Callable[[], ServiceRequest]] = {
    rq.SUBMITTED: submitted,
    rq.DISPATCHED: dispatched,
    rq.ON_SITE: on_site,
    rq.ESCALATED: escalated,
    rq.RESOLVED: resolved,
}
ALLOWED = {(rq.SUBMITTED, rq.DISPATCH), (rq.DISPATCHED, rq.ARRIVE), (rq.ON_SITE, rq.ESCALATE),
           (rq.ON_SITE, rq.RESOLVE), (rq.ESCALATED, rq.RESOLVE)}


@pytest.mark.parametrize(("status", "step"), sorted(itertools.product(AT, STEPS)))
def test_every_transition_is_allowed_or_refused_naming_the_status(status: int, step: str
                                                                   ) -> None:
    r = AT[status]()
    assert r.status == status
    before = ServiceRequest(**vars(r))
    if (status, step) in ALLOWED:
        STEPS[step](r)
        assert r.status != status
        return
    with pytest.raises(FailedPrecondition) as refused:
        STEPS[step](r)
    assert rq.STATUS_NAMES[status] in refused.value.message
    assert r == before  # a refused step changes nothing


def test_no_escalation_before_the_team_is_on_site() -> None:
    for make in (AT[rq.SUBMITTED], AT[rq.DISPATCHED]):
        with pytest.raises(FailedPrecondition, match="only a request that is on site"):
            rq.escalate(make(), "why", T0, RULES)


def test_arriving_twice_and_resolving_twice_are_refused() -> None:
    r = on_site()
    with pytest.raises(FailedPrecondition, match="that is on site"):
        rq.arrive(r, T0 + timedelta(minutes=25))
    rq.resolve(r, "done", T0 + timedelta(hours=1))
    with pytest.raises(FailedPrecondition, match="that is resolved"):
        rq.resolve(r, "again", T0 + timedelta(hours=2))


def test_an_arrival_before_the_submission_is_invalid() -> None:
    r = AT[rq.DISPATCHED]()
    with pytest.raises(InvalidArgument) as bad:
        rq.arrive(r, T0 - timedelta(seconds=1))
    assert fields(bad.value) == {"arrived_at"} and r.status == rq.DISPATCHED


def test_an_arrival_before_the_dispatch_is_invalid() -> None:
    r = AT[rq.DISPATCHED]()  # submitted at T0, dispatched a minute later
    before = ServiceRequest(**vars(r))
    for at in (T0, T0 + timedelta(seconds=59), T0 + timedelta(minutes=1) - timedelta.resolution):
        with pytest.raises(InvalidArgument) as bad:
            rq.arrive(r, at)
        assert bad.value.violations[0].field == "arrived_at"
        assert "before the team was dispatched" in bad.value.message
        assert r == before
    assert rq.arrive(r, T0 + timedelta(minutes=1)) is False  # the moment of dispatch: allowed
    assert r.status == rq.ON_SITE


@pytest.mark.parametrize(("check", "field", "limit"), [
    (rq.validate_description, "description", 1000),
    (rq.validate_team, "team", 100),
    (rq.validate_reason, "reason", 1000),
    (rq.validate_result, "result", 2000),
])
def test_text_inputs_are_required_and_bounded(check: Callable[[str], str], field: str,
                                              limit: int) -> None:
    assert check("x" * limit) == "x" * limit
    assert check(" 好 ") == "好"
    for bad in ("", "   ", "x" * (limit + 1)):
        with pytest.raises(InvalidArgument) as refused:
            check(bad)
        assert fields(refused.value) == {field}


def test_bad_input_is_reported_before_the_transition() -> None:
    r = AT[rq.RESOLVED]()
    with pytest.raises(InvalidArgument):
        rq.dispatch(r, "", T0)
    with pytest.raises(InvalidArgument):
        rq.resolve(r, "x" * 2001, T0)
    with pytest.raises(InvalidArgument):
        rq.new_request("a", "b", PATH, "", True, T0, RULES)


def test_ratio() -> None:
    assert rq.ratio(0, 0) == 1.0
    assert rq.ratio(3, 4) == 0.75
    assert rq.ratio(0, 2) == 0.0


def test_the_sla_comes_from_the_rules() -> None:
    rules = AidRules(arrival_sla=timedelta(seconds=2), meeting_sla=timedelta(hours=1))
    r = rq.new_request("a", "b", PATH, "d", False, T0, rules)
    assert r.arrival_due_at == T0 + timedelta(seconds=2)
    rq.dispatch(r, "t", T0)
    rq.arrive(r, T0 + timedelta(seconds=1))
    rq.escalate(r, "why", T0 + timedelta(seconds=5), rules)
    assert r.meeting_due_at == T0 + timedelta(hours=1, seconds=5)
