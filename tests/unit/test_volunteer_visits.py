"""Visits without I/O: the checks a logged visit must pass, overlaps and how a refusal names
the other visit, who may log whose visit, the schedule a visit sets, and which follow-up needs
the registry adds."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from registry.service.visit_needs import missing_needs
from runtime.auth import Caller
from runtime.errors import InvalidArgument, PermissionDenied
from volunteer.config import GREEN, RED, VolunteerRules, Volunteers
from volunteer.domain import schedule
from volunteer.domain import visits as vd
from volunteer.domain.visits import Findings, NewVisit
from volunteer.service import visits

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2024, 6, 15, 2, 0, tzinfo=UTC)   # 10:00 in Shanghai
PERSON, VOLUNTEER = str(uuid.uuid4()), str(uuid.uuid4())


def visit(**fields: Any) -> NewVisit:
    values: dict[str, Any] = {"person_id": PERSON, "volunteer_id": VOLUNTEER, "by_phone": False,
                              "visited_at": None, "duration_minutes": 45,
                              "findings": Findings(), "follow_up_needs": []}
    values.update(fields)
    return NewVisit(**values)


def bad_fields(new: NewVisit) -> dict[str, str]:
    with pytest.raises(InvalidArgument) as exc:
        vd.check(new, NOW)
    return {v.field: v.description for v in exc.value.violations}


def test_a_visit_without_a_time_took_place_now_and_its_input_is_tidied() -> None:
    checked = vd.check(visit(findings=Findings(" 血压偏高 ", "", " 门锁已修 ", True),
                             follow_up_needs=["rehabilitation", "relief", "rehabilitation"]),
                       NOW)
    assert checked.visited_at == NOW
    assert checked.findings == Findings("血压偏高", "", "门锁已修", True)
    assert checked.follow_up_needs == ["rehabilitation", "relief"]


@pytest.mark.parametrize(("at", "ok"), [
    (NOW - vd.MAX_AGE, True),
    (NOW - vd.MAX_AGE - timedelta(minutes=1), False),
    (NOW + timedelta(minutes=1), True),            # a device clock a little ahead
    (NOW + timedelta(minutes=10), False),
])
def test_a_visit_is_not_in_the_future_nor_older_than_thirty_days(at: datetime, ok: bool
                                                                 ) -> None:
    if ok:
        assert vd.check(visit(visited_at=at), NOW).visited_at == at
    else:
        assert set(bad_fields(visit(visited_at=at))) == {"visited_at"}


def test_every_bad_field_is_reported_at_once() -> None:
    found = bad_fields(visit(duration_minutes=0, findings=Findings(health="x" * 2001),
                             follow_up_needs=["Rehab", "a", "ok_code", "x" * 41]))
    assert set(found) == {"duration_minutes", "findings.health", "follow_up_needs[0]",
                          "follow_up_needs[1]", "follow_up_needs[3]"}
    assert set(bad_fields(visit(duration_minutes=481))) == {"duration_minutes"}
    assert vd.check(visit(duration_minutes=480), NOW).duration_minutes == 480
    eleven = [f"need_{i}" for i in range(11)]
    assert set(bad_fields(visit(follow_up_needs=eleven))) == {"follow_up_needs"}
    assert len(vd.check(visit(follow_up_needs=eleven[:10] * 2), NOW).follow_up_needs) == 10


def test_overlaps_are_half_open_intervals() -> None:
    start = NOW
    end = vd.ends_at(start, 60)
    assert end == NOW + timedelta(hours=1)
    assert vd.overlaps(start, end, start + timedelta(minutes=59), end + timedelta(hours=1))
    assert vd.overlaps(start, end, start - timedelta(minutes=5), start + timedelta(minutes=1))
    assert vd.overlaps(start, end, start + timedelta(minutes=10), start + timedelta(minutes=20))
    assert not vd.overlaps(start, end, end, end + timedelta(minutes=30))   # back to back
    assert not vd.overlaps(start, end, start - timedelta(minutes=30), start)


def test_a_refused_overlap_names_the_other_visit_in_local_time() -> None:
    message = vd.overlap_message(NOW, NOW + timedelta(minutes=45), TZ)
    assert "from 2024-06-15 10:00 to 10:45 (Asia/Shanghai)" in message
    across = vd.overlap_message(NOW + timedelta(hours=13), NOW + timedelta(hours=15), TZ)
    assert "from 2024-06-15 23:00 to 2024-06-16 01:00" in across


def test_a_visit_sets_the_next_due_time_one_interval_of_the_colour_later() -> None:
    hours = VolunteerRules().visit_hours
    assert schedule.next_due(RED, NOW, NOW, hours) == NOW + timedelta(hours=24)
    assert schedule.next_due(GREEN, NOW, NOW, hours) == NOW + timedelta(days=30)
    assert schedule.next_due(0, NOW, NOW, hours) is None


class NoDatabase:
    def unit_of_work(self, caller: Caller) -> Any:
        raise AssertionError("refused before the database is reached")


def log(caller: Caller, new: NewVisit) -> None:
    v = Volunteers(NoDatabase(), VolunteerRules(), TZ)  # type: ignore[arg-type]
    asyncio.run(visits.log_visit(v, caller, new))


def test_a_volunteer_logs_only_their_own_visits() -> None:
    for role in ("volunteer", "family_doctor"):
        someone = Caller(str(uuid.uuid4()), role, ("/3505/",))
        with pytest.raises(PermissionDenied, match="only their own"):
            log(someone, visit())
    with pytest.raises(PermissionDenied, match="may not do this"):
        log(Caller(VOLUNTEER, "service", ("/",)), visit())
    with pytest.raises(InvalidArgument):
        log(Caller(VOLUNTEER, "volunteer", ("/3505/",)), visit(volunteer_id="nope"))


def test_the_registry_adds_only_valid_needs_the_person_lacks() -> None:
    assert missing_needs(["care"], ["care", "relief", "Bad", "relief", "rehabilitation"]) == [
        "relief", "rehabilitation"]
    assert missing_needs(["care", "relief"], ["relief", "care"]) == []
    assert missing_needs([], []) == []
