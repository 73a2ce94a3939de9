"""The volunteer part of `make demo`: a student volunteer, a community worker and a neighbour are
registered in the grid of the household the aid scenario raised to red; the proposals for its
member (with reasons), the "1+1+N" pairing, a visit logged today for a green person living alone
(its follow-up need reaches the registry), a visit of the red person logged as 30 hours ago — so
the daily visit is now overdue: the missed visit is found by the scan, announced, and the liaison
is notified through the notification service. Refusals, service hours and the yearly summary.
A second run ends the first run's pairings (history stays) and pairs again."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
from demo_checks import check, expect_error

import devstack
from cdsp.events.v1 import volunteer_pb2 as ev
from cdsp.notification.v1 import notification_pb2 as npb
from cdsp.notification.v1.notification_pb2_grpc import NotificationServiceStub
from cdsp.registry.v1 import registry_pb2 as rpb
from cdsp.registry.v1.registry_pb2_grpc import RegistryServiceStub
from cdsp.volunteer.v1 import volunteer_pb2 as pb
from cdsp.volunteer.v1.volunteer_pb2_grpc import VolunteerServiceStub
from runtime.grpc_client import sync_channel
from runtime.timestamps import to_timestamp

COLOURS = {0: "none", 1: "green", 2: "yellow", 3: "red"}
ROLES = {1: "community worker", 2: "volunteer", 3: "neighbour"}


def _find(api: VolunteerServiceStub, person_ids: list[str], colour: int, alone: bool
          ) -> pb.CareSchedule | None:
    for person_id in person_ids:
        try:
            s = api.GetCareSchedule(pb.GetCareScheduleRequest(person_id=person_id))
        except grpc.RpcError:
            continue
        if s.colour == colour and (s.living_alone or not alone):
            return s  # type: ignore[no-any-return]
    return None


def _wait(what: str, probe: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.5)
    return None


def run(stack: devstack.Stack, sample: dict[str, Any], admin_token: str) -> None:
    community = sample["community_path"]
    worker = stack.token("cw-01", "community_worker", [community])
    api = VolunteerServiceStub(sync_channel(stack.grpc_addr("volunteer"), worker))
    registry = RegistryServiceStub(sync_channel(stack.grpc_addr("registry"), admin_token))
    members: list[str] = list(sample["persons"])
    print(f"\n=== 结对帮扶 Volunteers and pairing (community worker cw-01, scope {community})")
    red = _wait("red", lambda: _find(api, members, ev.RISK_COLOUR_RED, alone=False))
    check(red is not None, "the aid scenario's red warning raised its household to red: "
                           "visits daily (a phone call counts)")
    if red is None:
        return
    green = _find(api, members, ev.RISK_COLOUR_GREEN, alone=True)
    check(green is not None, "residents living alone are green: visited at least monthly")
    for person in (red, green):  # re-pairing: an earlier run's pairings end, history stays
        if person is None:
            continue
        for old in api.ListPairings(pb.ListPairingsRequest(person_id=person.person_id)).pairings:
            if old.active:
                api.EndPairing(pb.EndPairingRequest(pairing_id=old.pairing_id,
                                                    reason="演示：重新结对"))
    grid = red.jurisdiction_path
    grids = list(dict.fromkeys([grid, *([green.jurisdiction_path] if green else [])]))
    print(f"  red person {red.person_id[:8]}… ({COLOURS[red.colour]}, "
          f"{red.required_visits_per_week} visits a week; {red.colour_reason})")
    made = {}
    for kind, name in ((ev.VOLUNTEER_KIND_STUDENT, "林同学"),
                       (ev.VOLUNTEER_KIND_COMMUNITY_WORKER, "社区专干"),
                       (ev.VOLUNTEER_KIND_NEIGHBOUR, "楼下邻居")):
        v = api.RegisterVolunteer(pb.RegisterVolunteerRequest(
            name=name, kind=kind, skills=["companionship", "shopping"], grid_paths=grids,
            availability=pb.Availability(weekdays=[1, 2, 3, 4, 5, 6, 7], hours="08:00-20:00"),
            team="泉州师院志愿队" if kind == ev.VOLUNTEER_KIND_STUDENT else ""))
        made[kind] = api.VerifyVolunteer(pb.VerifyVolunteerRequest(volunteer_id=v.volunteer_id))
    pairings = []
    if green is not None:  # a person living alone: "1+1+N"
        proposals = api.ProposePairings(pb.ProposePairingsRequest(person_id=green.person_id,
                                                                  limit=3))
        print(f"  person {green.person_id[:8]}… lives alone: {proposals.structure}")
        for p in proposals.proposals:
            print(f"    {p.volunteer_id[:8]}… as {ROLES[p.role]}: {p.score} — "
                  + "; ".join(p.reasons[:2]))
        for role, kind in ((ev.PAIRING_ROLE_COMMUNITY_WORKER, ev.VOLUNTEER_KIND_COMMUNITY_WORKER),
                           (ev.PAIRING_ROLE_VOLUNTEER, ev.VOLUNTEER_KIND_STUDENT),
                           (ev.PAIRING_ROLE_NEIGHBOUR, ev.VOLUNTEER_KIND_NEIGHBOUR)):
            pairings.append(api.Pair(pb.PairRequest(
                person_id=green.person_id, volunteer_id=made[kind].volunteer_id,
                role=role)))  # type: ignore[arg-type]
        after = api.ProposePairings(pb.ProposePairingsRequest(person_id=green.person_id))
        print(f"  after pairing: {after.structure}")
    pairings.append(api.Pair(pb.PairRequest(
        person_id=red.person_id, volunteer_id=made[ev.VOLUNTEER_KIND_STUDENT].volunteer_id,
        role=ev.PAIRING_ROLE_VOLUNTEER)))
    student = made[ev.VOLUNTEER_KIND_STUDENT].volunteer_id
    load = api.GetVolunteer(pb.GetVolunteerRequest(volunteer_id=student)).load
    check(len(pairings) >= 3, f"paired \"1+1+N\": {len(pairings)} pairings made (the student "
                              f"volunteer now visits {load} of at most 5 persons)")

    print("\n=== 探访记录 Visits")
    now = datetime.now(UTC)
    if green is not None:
        visit = api.LogVisit(pb.LogVisitRequest(
            person_id=green.person_id, volunteer_id=student, by_phone=False,
            visited_at=to_timestamp(now - timedelta(minutes=50)), duration_minutes=45,
            findings=pb.Findings(health="血压偏高", needs="想做康复训练", safety="门锁松动"),
            follow_up_needs=["rehabilitation"]))
        after = api.GetCareSchedule(pb.GetCareScheduleRequest(person_id=green.person_id))
        check(bool(visit.visit_id) and after.next_due_at.ToDatetime(tzinfo=UTC) > now,
              f"visit logged (45 min, in person); next visit due "
              f"{after.next_due_at.ToDatetime(tzinfo=UTC):%Y-%m-%d}")
        needs = _wait("need", lambda: "rehabilitation" in [n.code for n in registry.GetPerson(
            rpb.GetPersonRequest(person_id=green.person_id)).needs])
        check(bool(needs), "its follow-up need (rehabilitation) is now recorded in the registry")
    api.LogVisit(pb.LogVisitRequest(
        person_id=red.person_id, volunteer_id=student, by_phone=True,
        visited_at=to_timestamp(now - timedelta(hours=30)), duration_minutes=10,
        findings=pb.Findings(health="精神不好")))
    print("  the red person's last visit was a phone call 30 hours ago: the daily visit is "
          "overdue")
    expect_error(grpc.StatusCode.INVALID_ARGUMENT, lambda: api.LogVisit(pb.LogVisitRequest(
        person_id=red.person_id, volunteer_id=student, duration_minutes=30,
        visited_at=to_timestamp(now + timedelta(days=1)))), "a visit dated tomorrow")
    other = next((p for p in members if p not in (red.person_id, green and green.person_id)),
                 "")
    expect_error(grpc.StatusCode.FAILED_PRECONDITION, lambda: api.LogVisit(pb.LogVisitRequest(
        person_id=other, volunteer_id=student, duration_minutes=30)),
        "a visit to a person the volunteer is not paired with")

    print("\n=== 漏访提醒 The missed visit (scan, event, the liaison's notice)")
    missed = _wait("missed", lambda: [s for s in api.ListMissedVisits(
        pb.ListMissedVisitsRequest(jurisdiction_path=grid)).schedules
        if s.person_id == red.person_id])
    check(bool(missed), "the red person is on the missed-visits list")
    notify = NotificationServiceStub(sync_channel(stack.grpc_addr("notification"), admin_token))

    def liaison_notice() -> list[npb.Notice]:
        listed = notify.ListNotices(npb.ListNoticesRequest(jurisdiction_path=grid,
                                                           page_size=50)).notices
        return [n for n in listed if n.template == "visit_overdue"
                and n.created_at.ToDatetime(tzinfo=UTC) >= now - timedelta(seconds=5)]
    notices = _wait("notice", liaison_notice, timeout=45)
    for n in notices or []:
        print(f"  → {n.recipient_kind} {n.recipient_id}: {n.title} "
              f"[{'urgent' if n.urgency == npb.NOTICE_URGENCY_URGENT else 'normal'}; "
              + ", ".join(d.channel for d in n.deliveries) + "]")
    check(any(n.recipient_kind == "liaison" for n in notices or []),
          "VisitMissed reached the notification service: the liaison is notified")

    print("\n=== 服务时长 Service hours")
    year = datetime.now().year
    hours = api.GetServiceHours(pb.GetServiceHoursRequest(team="泉州师院志愿队", year=year))
    summary = api.GetYearlySummary(pb.GetYearlySummaryRequest(year=year,
                                                              jurisdiction_path=community))
    check(hours.minutes >= 55, f"team 泉州师院志愿队: {hours.minutes} minutes, "
                               f"{hours.visits} visits by {hours.volunteers} volunteers")
    print(f"  {year} in 新华社区: {summary.volunteers_active} volunteers active, {summary.visits}"
          f" visits, {summary.service_minutes} minutes, {summary.persons_covered} persons "
          f"covered; red persons {summary.red_persons}, visited while red "
          f"{summary.red_persons_covered}")
