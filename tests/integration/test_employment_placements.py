"""Placements on the real service: placing fills the post and emits Placed; a second full-time
placement is refused (also when attempted at once); full and closed posts; follow-up scheduling;
an overdue follow-up found by a service that was down when it fell overdue, announced once;
subsidies owed for a month; start-up grants; workshop sales; yearly figures; bad input and
jurisdictions.

Employers, posts and courses are written straight into the service's tables here (their own
APIs have tests of their own)."""

from __future__ import annotations

import calendar
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import psycopg
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

import devstack
from cdsp.common.v1 import common_pb2 as common
from cdsp.employment.v1 import employment_pb2 as pb
from cdsp.events.v1 import employment_pb2 as ev
from cdsp.events.v1.envelope_pb2 import Envelope
from employment.domain.placements import add_months
from runtime.events import unpack_payload
from tests.employment_helpers import (
    employment_admin,
    employment_stub,
    register_job_seeker,
    scores,
    wait_candidates,
)
from tests.events import TopicReader
from tests.helpers import Tree, rpc_error, token, violations
from tests.notification_helpers import wait_until

TZ = ZoneInfo("Asia/Shanghai")
FAILED = grpc.StatusCode.FAILED_PRECONDITION
DENIED = grpc.StatusCode.PERMISSION_DENIED
INVALID = grpc.StatusCode.INVALID_ARGUMENT
ENTERPRISE, WELFARE = pb.POST_KIND_ENTERPRISE, pb.POST_KIND_PUBLIC_WELFARE
EMPLOYMENT_ENV = {"CDSP_SHUTDOWN_GRACE_S": "5"}   # as the session's employment service runs


def _today() -> date:
    return datetime.now(TZ).date()


def _d(day: date) -> common.Date:
    return common.Date(year=day.year, month=day.month, day=day.day)


def _ts(moment: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(moment)
    return ts


def _sql(stack: devstack.Stack, sql: str, params: list[Any] | None = None) -> list[Any]:
    with psycopg.connect(stack.database_url("employment"), autocommit=True) as conn, \
            conn.transaction():
        conn.execute("SELECT set_config('cdsp.scope', '/%', true)")
        cur = conn.execute(sql, params)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description else []


def _employer(stack: devstack.Stack, path: str, subsidy: int = 200_000, name: str = "企业",
              since: date = date(2020, 1, 1)) -> str:
    employer_id = str(uuid.uuid4())
    _sql(stack, "INSERT INTO employers (employer_id, name, jurisdiction_path, "
                "monthly_subsidy_fen, agreement_start, created_by) VALUES (%s, %s, %s, %s, %s, "
                "'test')", [employer_id, name, path, subsidy, since])
    return employer_id


def _post(stack: devstack.Stack, path: str, kind: int = WELFARE, employer_id: str | None = None,
          openings: int = 1, full_time: bool = True, is_open: bool = True) -> str:
    post_id = str(uuid.uuid4())
    _sql(stack, "INSERT INTO posts (post_id, kind, employer_id, title, jurisdiction_path, "
                "openings, full_time, open, created_by) VALUES (%s, %s, %s, '岗位', %s, %s, %s, "
                "%s, 'test')", [post_id, kind, employer_id, path, openings, full_time, is_open])
    return post_id


def _filled(stack: devstack.Stack, post_id: str) -> int:
    return int(_sql(stack, "SELECT filled FROM posts WHERE post_id = %s", [post_id])[0][0])


def _seekers(tree: Tree, stack: devstack.Stack, count: int, grid: int = 0) -> list[str]:
    ids = [register_job_seeker(tree, grid).person_id for _ in range(count)]
    wait_candidates(stack.database_url("employment"), ids)
    return ids


def _envelopes(stack: devstack.Stack, key: str, count: int) -> list[Envelope]:
    reader = TopicReader(stack.kafka_bootstrap, "cdsp.employment.v1")
    try:
        return reader.wait_for(lambda envs: len(envs) >= count, key=key)
    finally:
        reader.close()


def _kinds(envs: list[Envelope]) -> list[tuple[str, int]]:
    return [(e.event_type.rsplit(".", 1)[1], e.aggregate_version) for e in envs]


def _local_due(p: pb.Placement) -> date:
    due = p.next_follow_up_due.ToDatetime(tzinfo=UTC).astimezone(TZ)
    assert due.time() == clock(0)   # due from local midnight of the due date
    return due.date()


def test_placing_fills_the_post_and_a_second_full_time_placement_is_refused(
        tree: Tree, employment: str, stack: devstack.Stack) -> None:
    person = _seekers(tree, stack, 1)[0]
    employer = _employer(stack, tree.community_path, subsidy=250_000)
    post = _post(stack, tree.community_path, ENTERPRISE, employer, openings=2)
    part_time = _post(stack, tree.community_path, full_time=False)
    api = employment_admin(tree, employment)
    start = _today() - timedelta(days=3)

    placed = api.Place(pb.PlaceRequest(person_id=person, post_id=post, start_date=_d(start)))
    assert (placed.status, placed.full_time, placed.employer_id, placed.monthly_subsidy_fen,
            placed.version, placed.start_date) == (pb.PLACEMENT_STATUS_ACTIVE, True, employer,
                                                   250_000, 1, _d(start))
    assert _local_due(placed) == add_months(start, 2)
    assert _filled(stack, post) == 1
    assert api.GetCandidate(pb.GetCandidateRequest(person_id=person)).placed_full_time
    for target in (post, part_time):
        exc = rpc_error(api.Place, pb.PlaceRequest(person_id=person, post_id=target))
        assert exc.code() == FAILED and "already placed full-time" in exc.details()
    assert (_filled(stack, post), _filled(stack, part_time)) == (1, 0)

    bad = rpc_error(api.EndPlacement, pb.EndPlacementRequest(
        placement_id=placed.placement_id, reason=" ", end_date=_d(_today() + timedelta(days=1))))
    assert set(violations(bad)) == {"reason", "end_date"}
    early = rpc_error(api.EndPlacement, pb.EndPlacementRequest(
        placement_id=placed.placement_id, reason="x", end_date=_d(start - timedelta(days=1))))
    assert "before the placement started" in violations(early)["end_date"]
    ended = api.EndPlacement(pb.EndPlacementRequest(placement_id=placed.placement_id,
                                                    reason=" 合同到期 "))
    assert (ended.status, ended.end_date, ended.end_reason, ended.version) == (
        pb.PLACEMENT_STATUS_ENDED, _d(_today()), "合同到期", 2)
    assert not ended.HasField("next_follow_up_due")
    assert _filled(stack, post) == 0
    assert not api.GetCandidate(pb.GetCandidateRequest(person_id=person)).placed_full_time
    again = rpc_error(api.EndPlacement, pb.EndPlacementRequest(
        placement_id=placed.placement_id, reason="x"))
    assert again.code() == FAILED and "no longer active" in again.details()
    assert not api.Place(pb.PlaceRequest(person_id=person, post_id=part_time)).full_time

    found = _envelopes(stack, placed.placement_id, 2)
    assert _kinds(found) == [("Placed", 1), ("PlacementEnded", 2)]
    assert {(e.aggregate_type, e.jurisdiction_path) for e in found} == {
        ("employment_placement", tree.grid_paths[0])}
    made, gone = (unpack_payload(e) for e in found)
    assert isinstance(made, ev.Placed) and isinstance(gone, ev.PlacementEnded)
    assert (made.person_id, made.post_id, made.employer_id, made.full_time, made.start_date,
            made.monthly_subsidy_fen) == (person, post, employer, True, _d(start), 250_000)
    assert (gone.reason, gone.end_date) == ("合同到期", _d(_today()))


def test_placing_one_person_in_eight_posts_at_once_places_them_once(
        tree: Tree, employment: str, stack: devstack.Stack) -> None:
    person = _seekers(tree, stack, 1)[0]
    posts = [_post(stack, tree.community_path) for _ in range(8)]
    barrier = threading.Barrier(len(posts))

    def attempt(post_id: str) -> pb.Placement | grpc.RpcError:
        api = employment_admin(tree, employment)
        api.GetCandidate(pb.GetCandidateRequest(person_id=person))   # connected before the race
        barrier.wait()
        try:
            return api.Place(pb.PlaceRequest(person_id=person, post_id=post_id))
        except grpc.RpcError as exc:
            return exc

    with ThreadPoolExecutor(len(posts)) as pool:
        results = list(pool.map(attempt, posts))
    placed = [r for r in results if isinstance(r, pb.Placement)]
    refused = [r for r in results if isinstance(r, grpc.RpcError)]
    assert len(placed) == 1 and len(refused) == 7
    assert {r.code() for r in refused} == {FAILED}
    assert sum(_filled(stack, p) for p in posts) == 1
    assert _sql(stack, "SELECT count(*) FROM placements WHERE person_id = %s", [person]) == [(1,)]
    # The database refuses a second active full-time placement whatever the code does.
    with pytest.raises(psycopg.errors.UniqueViolation):
        _sql(stack, "INSERT INTO placements (placement_id, person_id, post_id, "
                    "jurisdiction_path, full_time, start_date, next_follow_up_due, placed_by) "
                    "VALUES (%s, %s, %s, %s, true, current_date, now(), 'test')",
             [str(uuid.uuid4()), person, posts[0], tree.grid_paths[0]])


def test_a_full_or_closed_post_is_refused(tree: Tree, employment: str,
                                          stack: devstack.Stack) -> None:
    first, second = _seekers(tree, stack, 2)
    post = _post(stack, tree.community_path, openings=1)
    closed = _post(stack, tree.community_path, is_open=False)
    api = employment_admin(tree, employment)
    api.Place(pb.PlaceRequest(person_id=first, post_id=post))
    full = rpc_error(api.Place, pb.PlaceRequest(person_id=second, post_id=post))
    assert full.code() == FAILED and "the post is full: 1 of 1" in full.details()
    shut = rpc_error(api.Place, pb.PlaceRequest(person_id=second, post_id=closed))
    assert shut.code() == FAILED and "closed" in shut.details()
    assert (_filled(stack, post), _filled(stack, closed)) == (1, 0)
    assert not api.GetCandidate(pb.GetCandidateRequest(person_id=second)).placed_full_time
    unknown = rpc_error(api.Place, pb.PlaceRequest(person_id=second, post_id=str(uuid.uuid4())))
    assert unknown.code() == grpc.StatusCode.NOT_FOUND
    bad = rpc_error(api.Place, pb.PlaceRequest(person_id=second, post_id=post,
                                               start_date=common.Date(year=2024, month=2,
                                                                      day=30)))
    assert set(violations(bad)) == {"start_date"}
    ahead = rpc_error(api.Place, pb.PlaceRequest(
        person_id=second, post_id=post, start_date=_d(_today() + timedelta(days=120))))
    assert set(violations(ahead)) == {"start_date"}
    assert set(violations(rpc_error(api.Place, pb.PlaceRequest(person_id=second,
                                                               post_id="x")))) == {"post_id"}


def test_a_visit_schedules_the_next_follow_up(tree: Tree, employment: str,
                                              stack: devstack.Stack) -> None:
    person = _seekers(tree, stack, 1)[0]
    post = _post(stack, tree.community_path)
    api = employment_admin(tree, employment)
    start = _today() - timedelta(days=20)
    placed = api.Place(pb.PlaceRequest(person_id=person, post_id=post, start_date=_d(start)))
    assert _local_due(placed) == add_months(start, 2)
    assert not placed.HasField("last_follow_up_at")
    pid = placed.placement_id

    now = datetime.now(UTC)
    bad = rpc_error(api.RecordFollowUp, pb.RecordFollowUpRequest(
        placement_id=pid, visited_at=_ts(now + timedelta(hours=1)), monthly_wage_fen=-1,
        adaptation=" "))
    assert set(violations(bad)) == {"visited_at", "monthly_wage_fen", "adaptation"}
    early = datetime.combine(start, clock(), TZ) - timedelta(hours=1)
    before = rpc_error(api.RecordFollowUp, pb.RecordFollowUpRequest(
        placement_id=pid, visited_at=_ts(early), adaptation="好"))
    assert set(violations(before)) == {"visited_at"}
    assert set(violations(rpc_error(api.RecordFollowUp, pb.RecordFollowUpRequest(
        placement_id="nope", adaptation="好")))) == {"placement_id"}
    assert rpc_error(api.RecordFollowUp, pb.RecordFollowUpRequest(
        placement_id=str(uuid.uuid4()), adaptation="好")).code() == grpc.StatusCode.NOT_FOUND

    visited = (now - timedelta(hours=1)).replace(microsecond=0)
    done = api.RecordFollowUp(pb.RecordFollowUpRequest(
        placement_id=pid, visited_at=_ts(visited), monthly_wage_fen=260_000,
        adaptation="适应良好，同事友善", rights_issues=""))
    assert done.last_follow_up_at.ToDatetime(tzinfo=UTC) == visited
    assert _local_due(done) == add_months(visited.astimezone(TZ).date(), 2)
    assert done.version == 2 and done.status == pb.PLACEMENT_STATUS_ACTIVE
    assert _sql(stack, "SELECT monthly_wage_fen, adaptation FROM follow_ups "
                       "WHERE placement_id = %s", [pid]) == [(260_000, "适应良好，同事友善")]

    api.EndPlacement(pb.EndPlacementRequest(placement_id=pid, reason="辞职"))
    ended = rpc_error(api.RecordFollowUp, pb.RecordFollowUpRequest(placement_id=pid,
                                                                   adaptation="好"))
    assert ended.code() == FAILED


@pytest.fixture
def own_employment(stack: devstack.Stack, registry: str) -> Iterator[devstack.Stack]:
    """Ports of this test's own for an employment process sharing the employment database. The
    session's employment process is stopped meanwhile: its scan reads the same rows."""
    mine = devstack.Stack(state_dir=stack.state_dir / "employment-scan", pg_port=stack.pg_port,
                          kafka_port=stack.kafka_port, port_offset=stack.port_offset + 8,
                          metrics_offset=(stack.metrics_offset or 0) + 8,
                          identity_dir=stack.identity.folder)
    mine.state_dir.mkdir(parents=True, exist_ok=True)
    shared_running = "employment" in stack.procs
    if shared_running:
        devstack.stop_service(stack, "employment")
    try:
        yield mine
    finally:
        if "employment" in mine.procs:
            devstack.stop_service(mine, "employment")
        if shared_running:
            devstack.start_service(stack, "employment", EMPLOYMENT_ENV)


def _scans_done(mine: devstack.Stack) -> int:
    log = mine.state_dir / "employment.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    return text.count("job follow-up-scan done")


def _start(mine: devstack.Stack, scan_s: int) -> None:
    """Starts the process and waits for its start-up scan to be over."""
    before = _scans_done(mine)
    devstack.start_service(mine, "employment",
                           {**EMPLOYMENT_ENV, "CDSP_EMPLOYMENT_FOLLOW_UP_SCAN_S": str(scan_s)})
    wait_until(lambda: _scans_done(mine) > before, "the start-up follow-up scan", 15)


def _overdue_counted(mine: devstack.Stack) -> float:
    url = f"http://127.0.0.1:{mine.metrics_port('employment')}/metrics"
    page = urllib.request.urlopen(url, timeout=5).read().decode()
    name = "cdsp_employment_follow_ups_overdue_total "
    return sum(float(line[len(name):]) for line in page.splitlines() if line.startswith(name))


def _notified(stack: devstack.Stack, pid: str) -> tuple[bool, bool]:
    row = _sql(stack, "SELECT due_notified, overdue_notified FROM placements "
                      "WHERE placement_id = %s", [pid])[0]
    return bool(row[0]), bool(row[1])


def test_an_overdue_follow_up_is_found_after_a_restart_and_announced_once(
        own_employment: devstack.Stack, tree: Tree, stack: devstack.Stack) -> None:
    mine = own_employment
    _start(mine, 86_400)           # its start-up scan is over; the next is a day away
    addr = mine.grpc_addr("employment")
    person = _seekers(tree, stack, 1)[0]
    post = _post(stack, tree.community_path)
    start = _today() - timedelta(days=90)   # first visit due 2 months later: weeks overdue
    placed = employment_admin(tree, addr).Place(pb.PlaceRequest(
        person_id=person, post_id=post, start_date=_d(start)))
    pid = placed.placement_id
    assert _local_due(placed) == add_months(start, 2)
    time.sleep(1.0)
    assert _notified(stack, pid) == (False, False)   # nothing scanned since it was placed

    devstack.stop_service(mine, "employment")
    _start(mine, 1)                 # a scan at start-up, then every second
    api = employment_admin(tree, addr)
    found = _envelopes(stack, pid, 3)
    time.sleep(3.0)                 # three more scans: none announces it again
    found = _envelopes(stack, pid, 3)
    assert _kinds(found) == [("Placed", 1), ("FollowUpDue", 2), ("FollowUpOverdue", 3)]
    late = unpack_payload(found[2])
    assert isinstance(late, ev.FollowUpOverdue)
    assert (late.placement_id, late.person_id, late.due_at) == (pid, person,
                                                                placed.next_follow_up_due)
    assert found[2].actor == "system" and found[2].jurisdiction_path == tree.grid_paths[0]
    assert _overdue_counted(mine) == 1
    listed = api.ListOverdueFollowUps(pb.ListOverdueFollowUpsRequest(
        jurisdiction_path=tree.grid_paths[0])).placements
    assert [p.placement_id for p in listed] == [pid]
    assert listed[0].next_follow_up_due == placed.next_follow_up_due and listed[0].version == 3
    assert not api.ListOverdueFollowUps(pb.ListOverdueFollowUpsRequest(
        jurisdiction_path=tree.grid_paths[1])).placements

    devstack.stop_service(mine, "employment")   # and once more: still announced once
    _start(mine, 1)
    time.sleep(1.5)
    assert _kinds(_envelopes(stack, pid, 3)) == [("Placed", 1), ("FollowUpDue", 2),
                                                 ("FollowUpOverdue", 3)]
    assert _overdue_counted(mine) == 0
    # A visit takes it off the list and schedules the next.
    api = employment_admin(tree, addr)
    visited = api.RecordFollowUp(pb.RecordFollowUpRequest(placement_id=pid, adaptation="好"))
    assert _local_due(visited) == add_months(_today(), 2)
    assert _notified(stack, pid) == (False, False)
    assert not api.ListOverdueFollowUps(pb.ListOverdueFollowUpsRequest(
        jurisdiction_path=tree.grid_paths[0])).placements
    _seekers(tree, stack, 1)   # it follows the registry again (and its consumer has joined)


def test_subsidies_owed_for_a_month_are_pro_rata_by_day(tree: Tree, employment: str,
                                                        stack: devstack.Stack) -> None:
    month_start = add_months(_today().replace(day=1), -2)
    y, m = month_start.year, month_start.month
    days = calendar.monthrange(y, m)[1]
    path = tree.community_path
    a = _employer(stack, path, 200_000, "A企业")
    b = _employer(stack, path, 310_000, "B企业", since=month_start + timedelta(days=4))
    at_a, at_b, welfare = (_post(stack, path, ENTERPRISE, a, openings=5),
                           _post(stack, path, ENTERPRISE, b), _post(stack, path))
    p1, p2, p3, p4, p5 = _seekers(tree, stack, 5)
    api = employment_admin(tree, employment)

    def place(person: str, post: str, start: date) -> pb.Placement:
        placed: pb.Placement = api.Place(pb.PlaceRequest(person_id=person, post_id=post,
                                                         start_date=_d(start)))
        return placed

    place(p1, at_a, month_start - timedelta(days=40))          # the whole month
    place(p2, at_a, month_start + timedelta(days=15))          # from the 16th
    third = place(p3, at_b, month_start - timedelta(days=10))  # to the 10th; agreement from 5th
    api.EndPlacement(pb.EndPlacementRequest(placement_id=third.placement_id, reason="离职",
                                            end_date=_d(month_start + timedelta(days=9))))
    place(p4, welfare, month_start - timedelta(days=10))       # no subsidy
    place(p5, at_a, add_months(month_start, 1))                # the month after

    owed = api.GetSubsidiesOwed(pb.GetSubsidiesOwedRequest(year=y, month=m,
                                                           jurisdiction_path=path))
    expected = [(a, "A企业", 2, 200_000 + 200_000 * (days - 15) // days),
                (b, "B企业", 1, 310_000 * 6 // days)]
    assert [(e.employer_id, e.name, e.placed_persons, e.owed_fen) for e in owed.employers] == \
        expected
    assert owed.total_fen == sum(e[3] for e in expected)
    assert not api.GetSubsidiesOwed(pb.GetSubsidiesOwedRequest(
        year=y, month=m, jurisdiction_path=tree.grid_paths[1])).employers
    bad = rpc_error(api.GetSubsidiesOwed, pb.GetSubsidiesOwedRequest(year=1999, month=13))
    assert set(violations(bad)) == {"year", "month"}
    worker = employment_stub(employment, token("grid_worker", [tree.grid_paths[0]]))
    assert rpc_error(worker.GetSubsidiesOwed, pb.GetSubsidiesOwedRequest(
        year=y, month=m)).code() == DENIED


def test_start_up_grants_within_the_bounds_once_per_person(tree: Tree, employment: str,
                                                           stack: devstack.Stack) -> None:
    person = _seekers(tree, stack, 1)[0]
    api = employment_admin(tree, employment)
    for amount in (499_999, 2_000_001):
        exc = rpc_error(api.AwardStartupGrant, pb.AwardStartupGrantRequest(
            person_id=person, amount_fen=amount, business="网店"))
        assert violations(exc) == {"amount_fen": "a start-up grant is 500000-2000000 fen "
                                                 "(5,000-20,000 yuan)"}
    assert set(violations(rpc_error(api.AwardStartupGrant, pb.AwardStartupGrantRequest(
        person_id=person, amount_fen=600_000, business=" ")))) == {"business"}
    grant = api.AwardStartupGrant(pb.AwardStartupGrantRequest(
        person_id=person, amount_fen=2_000_000, business=" 电商直播工作室 "))
    assert (grant.person_id, grant.amount_fen, grant.business) == (person, 2_000_000,
                                                                   "电商直播工作室")
    twice = rpc_error(api.AwardStartupGrant, pb.AwardStartupGrantRequest(
        person_id=person, amount_fen=500_000, business="再来"))
    assert twice.code() == FAILED and "one-off" in twice.details()
    found = _envelopes(stack, grant.grant_id, 1)
    awarded = unpack_payload(found[0])
    assert isinstance(awarded, ev.StartupGrantAwarded)
    assert (awarded.grant_id, awarded.person_id, awarded.amount_fen) == (
        grant.grant_id, person, 2_000_000)


def test_workshop_sales_are_checked_field_by_field(tree: Tree, employment: str) -> None:
    api = employment_admin(tree, employment)
    sale = api.RecordWorkshopSale(pb.RecordWorkshopSaleRequest(
        workshop="阳光工坊", jurisdiction_path=tree.community_path, amount_fen=12_345,
        goods="手工皂"))
    assert (sale.workshop, sale.amount_fen, sale.sold_on, sale.goods) == (
        "阳光工坊", 12_345, _d(_today()), "手工皂")
    bad = rpc_error(api.RecordWorkshopSale, pb.RecordWorkshopSaleRequest(
        workshop=" ", jurisdiction_path="nowhere", amount_fen=0,
        sold_on=_d(_today() + timedelta(days=1))))
    assert set(violations(bad)) == {"workshop", "jurisdiction_path", "amount_fen", "sold_on"}
    assert set(violations(rpc_error(api.RecordWorkshopSale, pb.RecordWorkshopSaleRequest(
        workshop="w", jurisdiction_path=tree.community_path, amount_fen=1,
        sold_on=common.Date(year=2024, month=13, day=1))))) == {"sold_on"}


def _complete(stack: devstack.Stack, path: str, person: str, at: datetime) -> None:
    course = str(uuid.uuid4())
    _sql(stack, "INSERT INTO courses (course_id, title, jurisdiction_path, capacity, "
                "class_hours, starts_at, ends_at, created_by) VALUES (%s, '养老护理员', %s, 10, "
                "10, %s, %s, 'test')", [course, path, at - timedelta(days=30), at])
    _sql(stack, "INSERT INTO enrolments (enrolment_id, course_id, person_id, jurisdiction_path,"
                " status, hours_attended, seated_at, completed_at, enrolled_by) VALUES "
                "(%s, %s, %s, %s, 4, 10, %s, %s, 'test')",
         [str(uuid.uuid4()), course, person, path, at - timedelta(days=30), at])


def test_yearly_figures_of_a_subtree(tree: Tree, employment: str,
                                     stack: devstack.Stack) -> None:
    y = _today().year - 1
    grid, path = tree.grid_paths[0], tree.community_path
    employer = _employer(stack, path, 200_000)
    enterprise = _post(stack, path, ENTERPRISE, employer, openings=5)
    welfare = _post(stack, path, openings=5)
    p1, p2, p3 = _seekers(tree, stack, 3)
    p4 = _seekers(tree, stack, 1, grid=1)[0]
    api = employment_admin(tree, employment)
    api.Place(pb.PlaceRequest(person_id=p1, post_id=enterprise, start_date=_d(date(y, 1, 10))))
    second = api.Place(pb.PlaceRequest(person_id=p2, post_id=enterprise,
                                       start_date=_d(date(y, 2, 1))))
    api.EndPlacement(pb.EndPlacementRequest(placement_id=second.placement_id, reason="辞职",
                                            end_date=_d(date(y, 5, 1))))
    api.Place(pb.PlaceRequest(person_id=p3, post_id=welfare, start_date=_d(date(y, 9, 1))))
    api.Place(pb.PlaceRequest(person_id=p4, post_id=welfare, start_date=_d(date(y, 3, 1))))
    api.RecordAssessment(pb.RecordAssessmentRequest(person_id=p1, scores=scores()))
    _complete(stack, grid, p1, datetime(y, 6, 1, 12, tzinfo=TZ))
    _complete(stack, grid, p2, datetime.now(UTC))
    api.AwardStartupGrant(pb.AwardStartupGrantRequest(person_id=p2, amount_fen=600_000,
                                                      business="网店"))
    for where, amount, day in ((grid, 50_000, date(y, 6, 1)), (grid, 12_345, _today()),
                               (tree.grid_paths[1], 70_000, date(y, 7, 1))):
        api.RecordWorkshopSale(pb.RecordWorkshopSaleRequest(
            workshop="工坊", jurisdiction_path=where, amount_fen=amount, sold_on=_d(day)))

    def figures(year: int, where: str) -> tuple[int, ...]:
        f = api.GetYearlyFigures(pb.GetYearlyFiguresRequest(year=year, jurisdiction_path=where))
        assert (f.year, f.jurisdiction_path) == (year, where)
        return (f.persons_assessed, f.persons_trained, f.persons_placed,
                f.still_employed_after_6_months, f.subsidy_owed_fen, f.startup_grants_fen,
                f.workshop_sales_fen)

    # p1: 22 days of January, then 11 whole months; p2: February to April, and 1 May.
    subsidy = 200_000 * 22 // 31 + 11 * 200_000 + 3 * 200_000 + 200_000 // 31
    # Still employed: p1 (p2 left before six months; p3 started after June).
    assert figures(y, grid) == (0, 1, 3, 1, subsidy, 0, 50_000)
    assert figures(y, path) == (0, 1, 4, 2, subsidy, 0, 120_000)
    today = _today()
    so_far = 200_000 * (today.month - 1) + 200_000 * today.day // calendar.monthrange(
        today.year, today.month)[1]
    assert figures(y + 1, grid) == (1, 1, 0, 0, so_far, 600_000, 12_345)
    assert set(violations(rpc_error(api.GetYearlyFigures, pb.GetYearlyFiguresRequest(
        year=1999, jurisdiction_path=grid)))) == {"year"}


def test_outside_the_callers_jurisdictions_is_denied(tree: Tree, employment: str,
                                                     stack: devstack.Stack) -> None:
    mine = _seekers(tree, stack, 1)[0]
    theirs = _seekers(tree, stack, 1, grid=1)[0]
    post, their_post = _post(stack, tree.grid_paths[0]), _post(stack, tree.grid_paths[1])
    placed = employment_admin(tree, employment).Place(pb.PlaceRequest(person_id=theirs,
                                                                      post_id=their_post))
    own = tree.grid_paths[0]
    api = employment_stub(employment, token("community_worker", [own], subject="cw"))
    calls: list[tuple[Any, Any]] = [
        (api.Place, pb.PlaceRequest(person_id=theirs, post_id=post)),
        (api.Place, pb.PlaceRequest(person_id=mine, post_id=their_post)),
        (api.EndPlacement, pb.EndPlacementRequest(placement_id=placed.placement_id,
                                                  reason="x")),
        (api.RecordFollowUp, pb.RecordFollowUpRequest(placement_id=placed.placement_id,
                                                      adaptation="好")),
        (api.ListOverdueFollowUps, pb.ListOverdueFollowUpsRequest(
            jurisdiction_path=tree.grid_paths[1])),
        (api.GetSubsidiesOwed, pb.GetSubsidiesOwedRequest(
            year=2025, month=1, jurisdiction_path=tree.community_path)),
        (api.AwardStartupGrant, pb.AwardStartupGrantRequest(person_id=theirs,
                                                            amount_fen=600_000, business="店")),
        (api.RecordWorkshopSale, pb.RecordWorkshopSaleRequest(
            workshop="w", jurisdiction_path=tree.grid_paths[1], amount_fen=1)),
        (api.GetYearlyFigures, pb.GetYearlyFiguresRequest(year=2025,
                                                          jurisdiction_path=tree.city_path)),
    ]
    for call, request in calls:
        exc = rpc_error(call, request)
        assert exc.code() == DENIED, (request, exc.details())
    assert api.Place(pb.PlaceRequest(person_id=mine, post_id=post)).status == \
        pb.PLACEMENT_STATUS_ACTIVE
    grid = employment_stub(employment, token("grid_worker", [own]))
    assert rpc_error(grid.Place, pb.PlaceRequest(person_id=mine, post_id=post)
                     ).code() == DENIED
