"""Visits on the real services: a paired volunteer logs a visit, the schedule moves on and the
minutes count; the refusals (not paired, a time in the future, overlapping visits, bad fields,
another jurisdiction, a volunteer logging someone else's visit); the needs a visit found reach
the registry (and an unknown or archived person is skipped there); and a missed visit found by
a service that was down when it fell due, announced once across restarts, and listed."""

from __future__ import annotations

import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import psycopg
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from kafka import KafkaProducer

import devstack
from cdsp.events.v1 import registry_pb2 as rev
from cdsp.events.v1 import volunteer_pb2 as ev
from cdsp.events.v1.envelope_pb2 import Envelope
from cdsp.registry.v1 import registry_pb2 as rpb
from cdsp.volunteer.v1 import volunteer_pb2 as pb
from cdsp.volunteer.v1 import volunteer_pb2_grpc
from runtime.events import build_envelope, unpack_payload
from tests.events import TopicReader
from tests.helpers import Tree, rpc_error, token, violations
from tests.notification_helpers import ServiceDb, wait_until
from tests.volunteer_helpers import (
    new_volunteer,
    register_alone,
    volunteer_admin,
    volunteer_stub,
    wait_persons,
)

TZ = ZoneInfo("Asia/Shanghai")   # the services' local time zone (CDSP_LOCAL_TZ's default)
FAILED = grpc.StatusCode.FAILED_PRECONDITION
DENIED = grpc.StatusCode.PERMISSION_DENIED
INVALID = grpc.StatusCode.INVALID_ARGUMENT
VOLUNTEER_ENV = {"CDSP_SHUTDOWN_GRACE_S": "5"}   # as the session's volunteer service runs
Api = volunteer_pb2_grpc.VolunteerServiceStub


def _ts(moment: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(moment)
    return ts


def _sql(stack: devstack.Stack, sql: str, params: list[Any] | None = None) -> list[Any]:
    """The volunteer database as the service's own role, across all jurisdictions."""
    with psycopg.connect(stack.database_url("volunteer"), autocommit=True) as conn, \
            conn.transaction():
        conn.execute("SELECT set_config('cdsp.scope', '/%', true)")
        cur = conn.execute(sql, params)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description else []


def _person(tree: Tree, stack: devstack.Stack, grid: int = 0) -> str:
    person_id = register_alone(tree, grid).person_id
    wait_persons(stack.database_url("volunteer"), [person_id])
    return person_id


def _paired(api: Api, tree: Tree, person_id: str, grid: int = 0) -> str:
    """A verified volunteer of the grid, paired with the person as their visiting volunteer."""
    vid = api.RegisterVolunteer(new_volunteer(tree, grid)).volunteer_id
    api.VerifyVolunteer(pb.VerifyVolunteerRequest(volunteer_id=vid))
    api.Pair(pb.PairRequest(person_id=person_id, volunteer_id=vid,
                            role=ev.PAIRING_ROLE_VOLUNTEER))
    return vid


def _visit(person_id: str, volunteer_id: str, at: datetime | None = None, minutes: int = 45,
           **fields: Any) -> pb.LogVisitRequest:
    return pb.LogVisitRequest(person_id=person_id, volunteer_id=volunteer_id,
                              visited_at=_ts(at) if at else None, duration_minutes=minutes,
                              **fields)


def _envelopes(stack: devstack.Stack, topic: str, key: str, done: Any) -> list[Envelope]:
    reader = TopicReader(stack.kafka_bootstrap, topic)
    try:
        return reader.wait_for(done, key=key)
    finally:
        reader.close()


def _of(envs: list[Envelope], kind: type[Any]) -> list[Any]:
    return [unpack_payload(e) for e in envs if e.event_type == kind.DESCRIPTOR.full_name]


def test_a_paired_volunteer_logs_a_visit_and_the_schedule_moves_on(
        tree: Tree, volunteer: str, stack: devstack.Stack) -> None:
    person_id = _person(tree, stack)
    api = volunteer_admin(tree, volunteer)
    vid = _paired(api, tree, person_id)
    mine = volunteer_stub(volunteer, token("volunteer", [tree.grid_paths[0]], subject=vid))
    at = (datetime.now(UTC) - timedelta(hours=3)).replace(microsecond=0)
    logged = mine.LogVisit(_visit(person_id, vid, at, 50, by_phone=True, findings=pb.Findings(
        health="血压正常", safety="燃气灶已检查", safety_concern=True)))
    assert (logged.person_id, logged.volunteer_id, logged.by_phone, logged.duration_minutes,
            logged.visited_at.ToDatetime(tzinfo=UTC)) == (person_id, vid, True, 50, at)
    assert logged.findings.safety_concern and logged.findings.health == "血压正常"
    care = api.GetCareSchedule(pb.GetCareScheduleRequest(person_id=person_id))
    assert care.last_visit_at.ToDatetime(tzinfo=UTC) == at
    # green, but living alone: called or visited every day (plan 000)
    assert care.next_due_at.ToDatetime(tzinfo=UTC) == at + timedelta(days=1)
    assert api.GetVolunteer(pb.GetVolunteerRequest(volunteer_id=vid)).service_minutes == 50

    # A worker logs one for the volunteer: an earlier visit, logged late, never moves the
    # schedule back; a visit without a time took place now.
    worker = volunteer_stub(volunteer, token("grid_worker", [tree.grid_paths[0]]))
    worker.LogVisit(_visit(person_id, vid, at - timedelta(days=2), 30))
    assert api.GetCareSchedule(pb.GetCareScheduleRequest(person_id=person_id)
                               ).last_visit_at.ToDatetime(tzinfo=UTC) == at
    now = worker.LogVisit(_visit(person_id, vid, minutes=20))
    assert abs(now.visited_at.ToDatetime(tzinfo=UTC) - datetime.now(UTC)) < timedelta(minutes=1)
    assert api.GetVolunteer(pb.GetVolunteerRequest(volunteer_id=vid)).service_minutes == 100
    found = _envelopes(stack, "cdsp.volunteer.v1", logged.visit_id, bool)
    announced = _of(found, ev.VisitLogged)[0]
    assert (announced.person_id, announced.volunteer_id, announced.duration_minutes,
            announced.by_phone, announced.safety_concern) == (person_id, vid, 50, True, True)
    assert found[0].jurisdiction_path == tree.grid_paths[0] and found[0].actor == vid


def test_visits_are_refused_without_a_pairing_in_the_future_overlapping_or_out_of_reach(
        tree: Tree, volunteer: str, stack: devstack.Stack) -> None:
    person_id, other_grid = _person(tree, stack), _person(tree, stack, grid=1)
    api = volunteer_admin(tree, volunteer)
    vid = _paired(api, tree, person_id)
    stranger = api.RegisterVolunteer(new_volunteer(tree)).volunteer_id
    worker = volunteer_stub(volunteer, token("grid_worker", [tree.grid_paths[0]]))
    now = datetime.now(UTC).replace(second=0, microsecond=0)

    exc = rpc_error(worker.LogVisit, _visit(person_id, stranger))
    assert exc.code() == FAILED and "not paired" in exc.details()
    assert rpc_error(worker.LogVisit, _visit(person_id, str(uuid.uuid4()))
                     ).code() == grpc.StatusCode.NOT_FOUND
    future = rpc_error(worker.LogVisit, _visit(person_id, vid, now + timedelta(hours=1)))
    assert future.code() == INVALID and set(violations(future)) == {"visited_at"}
    old = rpc_error(worker.LogVisit, _visit(person_id, vid, now - timedelta(days=31)))
    assert "30 days" in violations(old)["visited_at"]
    bad = rpc_error(worker.LogVisit, _visit(person_id, vid, minutes=481, follow_up_needs=[
        "Bad Code"], findings=pb.Findings(needs="x" * 2001)))
    assert set(violations(bad)) == {"duration_minutes", "follow_up_needs[0]", "findings.needs"}

    first = worker.LogVisit(_visit(person_id, vid, now - timedelta(hours=2), 60))
    overlap = rpc_error(worker.LogVisit, _visit(person_id, vid, now - timedelta(minutes=90)))
    assert overlap.code() == FAILED and "overlaps" in overlap.details()
    local = first.visited_at.ToDatetime(tzinfo=UTC).astimezone(TZ)
    assert f"{local:%Y-%m-%d %H:%M}" in overlap.details()
    worker.LogVisit(_visit(person_id, vid, now - timedelta(hours=1), 30))   # back to back
    assert api.GetVolunteer(pb.GetVolunteerRequest(volunteer_id=vid)).service_minutes == 90

    # Out of reach: a person of another grid, someone else's visit for a volunteer.
    assert rpc_error(worker.LogVisit, _visit(other_grid, vid)).code() == DENIED
    as_stranger = volunteer_stub(volunteer, token("volunteer", [tree.grid_paths[0]],
                                                  subject=stranger))
    exc = rpc_error(as_stranger.LogVisit, _visit(person_id, vid))
    assert exc.code() == DENIED and "own visits" in exc.details()
    # An ended pairing no longer lets the volunteer log visits.
    pairing = api.ListPairings(pb.ListPairingsRequest(person_id=person_id)).pairings[0]
    api.EndPairing(pb.EndPairingRequest(pairing_id=pairing.pairing_id, reason="搬家"))
    assert rpc_error(worker.LogVisit, _visit(person_id, vid)).code() == FAILED
    assert int(_sql(stack, "SELECT count(*) FROM visits WHERE person_id = %s",
                    [person_id])[0][0]) == 2


def _need_codes(tree: Tree, person_id: str) -> list[str]:
    return [n.code for n in tree.admin.GetPerson(rpb.GetPersonRequest(person_id=person_id)
                                                 ).needs]


def test_needs_found_at_a_visit_reach_the_registry_once(tree: Tree, volunteer: str,
                                                         stack: devstack.Stack) -> None:
    person_id = _person(tree, stack)
    api = volunteer_admin(tree, volunteer)
    vid = _paired(api, tree, person_id)
    now = datetime.now(UTC)
    api.LogVisit(_visit(person_id, vid, now - timedelta(hours=5), follow_up_needs=[
        "rehabilitation", "relief"]))
    wait_until(lambda: _need_codes(tree, person_id) == ["rehabilitation", "relief"],
               "the visit's needs recorded by the registry", 30)
    api.LogVisit(_visit(person_id, vid, now - timedelta(hours=3), follow_up_needs=[
        "relief", "care"]))
    wait_until(lambda: _need_codes(tree, person_id) == ["rehabilitation", "relief", "care"],
               "the second visit's new need recorded", 30)
    api.LogVisit(_visit(person_id, vid, now - timedelta(hours=1), follow_up_needs=["care"]))
    found = _envelopes(stack, "cdsp.registry.v1", person_id,
                       lambda envs: len(_of(envs, rev.PersonNeedsChanged)) >= 2)
    time.sleep(2.0)   # the third visit's event has long been consumed: it changed nothing
    found = _envelopes(stack, "cdsp.registry.v1", person_id, bool)
    assert [(list(c.added), list(c.need_codes)) for c in _of(found, rev.PersonNeedsChanged)] == [
        (["rehabilitation", "relief"], ["rehabilitation", "relief"]),
        (["care"], ["rehabilitation", "relief", "care"])]
    updated = _of(found, rev.PersonUpdated)
    assert len(updated) == 2 and all("needs" in u.changed_fields for u in updated)
    assert [e.actor for e in found if e.event_type.endswith("PersonNeedsChanged")] == [
        "system", "system"]
    person = tree.admin.GetPerson(rpb.GetPersonRequest(person_id=person_id))
    assert person.version == 3 and person.needs[0].description == "found at a volunteer visit"


def test_the_registry_skips_visits_of_unknown_or_archived_persons(
        tree: Tree, registry: str, stack: devstack.Stack) -> None:
    archived = tree.register(tree.household())
    tree.admin.ArchivePerson(rpb.ArchivePersonRequest(
        person_id=archived.person_id, reason=rev.ARCHIVE_REASON_MOVED_OUT,
        expected_version=archived.version))
    producer = KafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
    ids = []
    try:
        for person_id in (archived.person_id, str(uuid.uuid4())):
            visit_id = str(uuid.uuid4())
            envelope = build_envelope(
                ev.VisitLogged(visit_id=visit_id, person_id=person_id, volunteer_id=str(
                    uuid.uuid4()), duration_minutes=30, follow_up_needs=["relief"]),
                aggregate_type="visit", aggregate_id=visit_id, version=1,
                jurisdiction_path=tree.grid_paths[0], producer="volunteer", actor="tester",
                request_id="test")
            producer.send("cdsp.volunteer.v1", key=visit_id.encode(),
                          value=envelope.SerializeToString()).get(10)
            ids.append(envelope.event_id)
    finally:
        producer.close()
    db = ServiceDb(stack.database_url("registry"))
    wait_until(lambda: db.rows("SELECT count(*) FROM inbox WHERE consumer = "
                               "'registry-visit-needs' AND event_id = ANY(%s::uuid[])",
                               [ids])[0][0] == 2, "both visits consumed by the registry", 30)
    assert db.rows("SELECT count(*) FROM dead_letter WHERE event_id = ANY(%s)", [ids]) == [(0,)]
    kept = tree.admin.GetPerson(rpb.GetPersonRequest(person_id=archived.person_id))
    assert list(kept.needs) == [] and kept.version == archived.version + 1


# ---------------------------------------------------------------- a missed visit, restarted

@pytest.fixture
def own_volunteer(stack: devstack.Stack, registry: str) -> Iterator[devstack.Stack]:
    """Ports of this test's own for a volunteer process sharing the volunteer database. The
    session's volunteer process is stopped meanwhile: its scan reads the same rows."""
    mine = devstack.Stack(state_dir=stack.state_dir / "volunteer-scan", pg_port=stack.pg_port,
                          kafka_port=stack.kafka_port, port_offset=stack.port_offset + 9,
                          metrics_offset=(stack.metrics_offset or 0) + 9,
                          identity_dir=stack.identity.folder)
    mine.state_dir.mkdir(parents=True, exist_ok=True)
    shared_running = "volunteer" in stack.procs
    if shared_running:
        devstack.stop_service(stack, "volunteer")
    try:
        yield mine
    finally:
        if "volunteer" in mine.procs:
            devstack.stop_service(mine, "volunteer")
        if shared_running:
            devstack.start_service(stack, "volunteer", VOLUNTEER_ENV)


def _scans_done(mine: devstack.Stack) -> int:
    log = mine.state_dir / "volunteer.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    return text.count("job missed-visit-scan done")


def _start(mine: devstack.Stack, scan_s: int) -> None:
    """Starts the process and waits for its start-up scan to be over."""
    before = _scans_done(mine)
    devstack.start_service(mine, "volunteer",
                           {**VOLUNTEER_ENV, "CDSP_VOLUNTEER_SCAN_S": str(scan_s)})
    wait_until(lambda: _scans_done(mine) > before, "the start-up missed-visit scan", 15)


def _missed_counted(mine: devstack.Stack) -> float:
    url = f"http://127.0.0.1:{mine.metrics_port('volunteer')}/metrics"
    page = urllib.request.urlopen(url, timeout=5).read().decode()
    name = "cdsp_volunteer_visits_missed_total{"
    return sum(float(line.rsplit(" ", 1)[1]) for line in page.splitlines()
               if line.startswith(name))


def _missed_events(stack: devstack.Stack, person_id: str) -> list[Any]:
    found = _envelopes(stack, "cdsp.volunteer.v1", person_id,
                       lambda envs: bool(_of(envs, ev.VisitMissed)))
    return _of(found, ev.VisitMissed)


def _due(stack: devstack.Stack, person_id: str) -> tuple[datetime, datetime | None]:
    row = _sql(stack, "SELECT next_due_at, missed_due_at FROM persons WHERE person_id = %s",
               [person_id])[0]
    return row[0], row[1]


def test_a_missed_visit_is_found_after_a_restart_and_announced_once(
        own_volunteer: devstack.Stack, tree: Tree, stack: devstack.Stack) -> None:
    mine = own_volunteer
    _start(mine, 3600)              # its start-up scan is over; the next is an hour away
    addr = mine.grpc_addr("volunteer")
    api = volunteer_admin(tree, addr)
    red, green = _person(tree, stack), _person(tree, stack)
    api.SetRiskColour(pb.SetRiskColourRequest(person_id=red, colour=ev.RISK_COLOUR_RED,
                                              reason="独居，近期住院"))
    vid = _paired(api, tree, red)
    api.LogVisit(_visit(red, vid, datetime.now(UTC) - timedelta(hours=1), 30))
    # Time travel (hours are whole, so no configuration makes a red visit due within a test):
    # the last visit 26 hours earlier, so the next was due 3 hours ago; the green person's
    # first visit due an hour ago. Nothing else in the database is waiting to be announced.
    pending = int(_sql(stack, "SELECT count(*) FROM persons WHERE colour > 0 AND NOT archived "
                              "AND next_due_at <= now() AND missed_due_at IS DISTINCT FROM "
                              "next_due_at")[0][0])
    _sql(stack, "UPDATE persons SET last_visit_at = last_visit_at - interval '26 hours', "
                "next_due_at = next_due_at - interval '26 hours' WHERE person_id = %s", [red])
    _sql(stack, "UPDATE persons SET next_due_at = now() - interval '1 hour' "
                "WHERE person_id = %s", [green])
    time.sleep(1.0)
    red_due, marked = _due(stack, red)
    assert marked is None and red_due < datetime.now(UTC) - timedelta(hours=1)

    devstack.stop_service(mine, "volunteer")
    _start(mine, 1)                 # a scan at start-up, then every second
    first = _missed_events(stack, red)
    time.sleep(3.0)                 # three more scans: none announces it again
    missed = _missed_events(stack, red)
    assert len(missed) == 1 and missed == first
    m = missed[0]
    assert (m.person_id, m.colour, m.volunteer_id) == (red, ev.RISK_COLOUR_RED, vid)
    assert m.due_at.ToDatetime(tzinfo=UTC) == red_due and m.HasField("last_visit_at")
    assert _due(stack, red) == (red_due, red_due)
    alone = _missed_events(stack, green)
    assert len(alone) == 1 and alone[0].volunteer_id == ""
    assert not alone[0].HasField("last_visit_at") and alone[0].colour == ev.RISK_COLOUR_GREEN
    assert _missed_counted(mine) == pending + 2

    worker = volunteer_stub(addr, token("grid_worker", [tree.grid_paths[0]]))
    listed = worker.ListMissedVisits(pb.ListMissedVisitsRequest()).schedules
    assert [s.person_id for s in listed] == [red, green]    # most overdue first
    assert listed[0].next_due_at == m.due_at and listed[0].colour == ev.RISK_COLOUR_RED
    assert [s.person_id for s in worker.ListMissedVisits(pb.ListMissedVisitsRequest(
        jurisdiction_path=tree.grid_paths[0], page_size=1)).schedules] == [red]
    assert not api.ListMissedVisits(pb.ListMissedVisitsRequest(
        jurisdiction_path=tree.grid_paths[1])).schedules
    assert rpc_error(worker.ListMissedVisits, pb.ListMissedVisitsRequest(
        page_size=501)).code() == INVALID
    assert rpc_error(worker.ListMissedVisits, pb.ListMissedVisitsRequest(
        jurisdiction_path=tree.grid_paths[1])).code() == DENIED

    devstack.stop_service(mine, "volunteer")   # and once more: still announced once
    _start(mine, 1)
    time.sleep(1.5)
    assert len(_missed_events(stack, red)) == 1 and len(_missed_events(stack, green)) == 1
    assert _missed_counted(mine) == 0
    # A visit takes the person off the list and sets the next due time a day later.
    api = volunteer_admin(tree, addr)
    api.LogVisit(_visit(red, vid, minutes=15))
    after = api.GetCareSchedule(pb.GetCareScheduleRequest(person_id=red))
    assert after.next_due_at.ToDatetime(tzinfo=UTC) > datetime.now(UTC) + timedelta(hours=23)
    assert [s.person_id for s in api.ListMissedVisits(pb.ListMissedVisitsRequest(
        jurisdiction_path=tree.grid_paths[0])).schedules] == [green]
