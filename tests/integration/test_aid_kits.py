"""Emergency kits and home sickbed visits on the real services."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

import cdsp.events.v1.aid_pb2  # noqa: F401  (registers the payload types)
import devstack
from aid.config import Aid, AidRules
from aid.service.kits import scan_sickbed
from cdsp.aid.v1 import aid_pb2 as pb
from cdsp.aid.v1 import aid_pb2_grpc
from cdsp.events.v1 import aid_pb2 as ev
from runtime.auth import SYSTEM
from runtime.db import Database
from runtime.events import unpack_payload
from tests.aid_helpers import aid_admin, aid_stub, wait_projected
from tests.events import TopicReader
from tests.helpers import Tree, rpc_error, token, violations


def ts(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def stock_of(api: aid_pb2_grpc.AidServiceStub, grid: str, item: str) -> pb.KitStock:
    listed: pb.ListKitStockResponse = api.ListKitStock(pb.ListKitStockRequest(grid_code=grid))
    return next(s for s in listed.stock if s.item == item)


def test_replenish_lend_return_consume(tree: Tree, aid: str, stack: devstack.Stack) -> None:
    person = tree.register(tree.household()).person_id
    wait_projected(stack.database_url("aid"), [person])
    grid = tree.grids[0]
    admin = aid_admin(tree, aid)
    worker = aid_stub(aid, token("grid_worker", [tree.grid_paths[0]], subject="gw-0"))

    chairs = admin.ReplenishKit(pb.ReplenishKitRequest(grid_code=grid, item="wheelchair",
                                                       quantity=3, lendable=True))
    assert (chairs.total, chairs.available, chairs.lendable) == (3, 3, True)
    assert chairs.low_stock_threshold == AidRules().kit_low_stock  # 0: the default

    loan = worker.LendKit(pb.LendKitRequest(grid_code=grid, item="wheelchair", person_id=person))
    assert loan.person_id == person and loan.HasField("lent_at")
    assert not loan.HasField("returned_at")
    assert stock_of(worker, grid, "wheelchair").available == 2

    back = worker.ReturnKit(pb.ReturnKitRequest(loan_id=loan.loan_id))
    assert back.HasField("returned_at")
    assert stock_of(worker, grid, "wheelchair").available == 3
    twice = rpc_error(worker.ReturnKit, pb.ReturnKitRequest(loan_id=loan.loan_id))
    assert twice.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "already returned" in (twice.details() or "")
    again = stock_of(worker, grid, "wheelchair")
    assert (again.total, again.available) == (3, 3)  # nothing changed

    pads = worker.ReplenishKit(pb.ReplenishKitRequest(grid_code=grid, item="nursing_pads",
                                                      quantity=5, low_stock_threshold=1))
    assert (pads.total, pads.available, pads.lendable) == (5, 5, False)
    lend_pads = rpc_error(worker.LendKit, pb.LendKitRequest(grid_code=grid, item="nursing_pads",
                                                            person_id=person))
    assert lend_pads.code() == grpc.StatusCode.FAILED_PRECONDITION
    too_many = rpc_error(worker.ConsumeKit, pb.ConsumeKitRequest(
        grid_code=grid, item="nursing_pads", quantity=6, person_id=person))
    assert too_many.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "only 5" in (too_many.details() or "")
    used = worker.ConsumeKit(pb.ConsumeKitRequest(grid_code=grid, item="nursing_pads",
                                                  quantity=2, person_id=person))
    assert (used.total, used.available) == (3, 3)
    consume_chair = rpc_error(worker.ConsumeKit, pb.ConsumeKitRequest(
        grid_code=grid, item="wheelchair", quantity=1))
    assert consume_chair.code() == grpc.StatusCode.FAILED_PRECONDITION
    switch = rpc_error(worker.ReplenishKit, pb.ReplenishKitRequest(
        grid_code=grid, item="wheelchair", quantity=1, lendable=False))
    assert switch.code() == grpc.StatusCode.FAILED_PRECONDITION

    everything = admin.ListKitStock(pb.ListKitStockRequest())
    assert {(s.grid_code, s.item) for s in everything.stock} >= {
        (grid, "nursing_pads"), (grid, "wheelchair")}


def test_low_stock_event_once_per_crossing(tree: Tree, aid: str, stack: devstack.Stack) -> None:
    person = tree.register(tree.household()).person_id
    wait_projected(stack.database_url("aid"), [person])
    grid = tree.grids[0]
    api = aid_admin(tree, aid)
    api.ReplenishKit(pb.ReplenishKitRequest(grid_code=grid, item="medicine", quantity=5,
                                            low_stock_threshold=2))

    def take(n: int) -> int:
        return api.ConsumeKit(pb.ConsumeKitRequest(grid_code=grid, item="medicine",  # type: ignore[no-any-return]
                                                   quantity=n)).available

    assert take(2) == 3   # above
    assert take(1) == 2   # crossing: event
    assert take(1) == 1   # still low: none
    api.ReplenishKit(pb.ReplenishKitRequest(grid_code=grid, item="medicine", quantity=4))
    assert take(4) == 1   # crossing again: event
    api.ReplenishKit(pb.ReplenishKitRequest(grid_code=grid, item="walker", quantity=2,
                                            lendable=True, low_stock_threshold=1))
    loan = api.LendKit(pb.LendKitRequest(grid_code=grid, item="walker", person_id=person))

    reader = TopicReader(stack.kafka_bootstrap, "cdsp.aid.v1")
    try:
        lent = reader.wait_for(lambda envs: len(envs) >= 1, key=loan.loan_id)
        walker = reader.wait_for(lambda envs: len(envs) >= 1, key=f"{grid}:walker")
        # The walker's event comes after both medicine events (one transaction after the
        # other), so every medicine event there is has been read by now.
        medicine = reader.envelopes(key=f"{grid}:medicine")
    finally:
        reader.close()
    assert [e.event_type for e in lent] == ["cdsp.events.v1.KitLent"]
    kit_lent = unpack_payload(lent[0])
    assert isinstance(kit_lent, ev.KitLent) and kit_lent.person_id == person
    low = [unpack_payload(e) for e in medicine]
    assert [(m.available, m.threshold) for m in low] == [(2, 2), (1, 2)]  # type: ignore[attr-defined]
    assert [e.aggregate_type for e in medicine] == ["kit_stock", "kit_stock"]
    walker_low = unpack_payload(walker[0])
    assert isinstance(walker_low, ev.KitLowOnStock) and walker_low.available == 1


def test_concurrent_lends_never_exceed_stock(tree: Tree, aid: str,
                                             stack: devstack.Stack) -> None:
    person = tree.register(tree.household()).person_id
    wait_projected(stack.database_url("aid"), [person])
    grid = tree.grids[0]
    api = aid_admin(tree, aid)
    api.ReplenishKit(pb.ReplenishKitRequest(grid_code=grid, item="walker", quantity=4,
                                            lendable=True))

    def lend(_: int) -> str:
        try:
            aid_admin(tree, aid).LendKit(pb.LendKitRequest(grid_code=grid, item="walker",
                                                           person_id=person))
            return "ok"
        except grpc.RpcError as exc:
            return exc.code().name  # type: ignore[no-any-return]

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(lend, range(16)))
    assert outcomes.count("ok") == 4
    assert set(outcomes) == {"ok", "FAILED_PRECONDITION"}
    walker = stock_of(api, grid, "walker")
    assert (walker.total, walker.available) == (4, 0)


def test_bad_input_and_jurisdictions(tree: Tree, aid: str, stack: devstack.Stack) -> None:
    person = tree.register(tree.household()).person_id
    wait_projected(stack.database_url("aid"), [person])
    grid, other_grid = tree.grids
    api = aid_admin(tree, aid)
    api.ReplenishKit(pb.ReplenishKitRequest(grid_code=grid, item="wheelchair", quantity=2,
                                            lendable=True))
    loan = api.LendKit(pb.LendKitRequest(grid_code=grid, item="wheelchair", person_id=person))

    zero = rpc_error(api.ReplenishKit, pb.ReplenishKitRequest(grid_code=grid, item="wheelchair",
                                                              quantity=0))
    assert zero.code() == grpc.StatusCode.INVALID_ARGUMENT and "quantity" in violations(zero)
    too_many = rpc_error(api.ConsumeKit, pb.ConsumeKitRequest(grid_code=grid, item="medicine",
                                                              quantity=1001))
    assert "quantity" in violations(too_many)
    bad_item = rpc_error(api.ReplenishKit, pb.ReplenishKitRequest(
        grid_code=grid, item="Wheel Chair", quantity=1))
    assert set(violations(bad_item)) == {"item"}
    bad_person = rpc_error(api.LendKit, pb.LendKitRequest(grid_code=grid, item="wheelchair",
                                                          person_id="nobody"))
    assert set(violations(bad_person)) == {"person_id"}
    bad_loan = rpc_error(api.ReturnKit, pb.ReturnKitRequest(loan_id="x"))
    assert set(violations(bad_loan)) == {"loan_id"}
    no_grid = rpc_error(api.ListKitStock, pb.ListKitStockRequest(grid_code="a/b"))
    assert set(violations(no_grid)) == {"grid_code"}

    unknown_grid = rpc_error(api.ReplenishKit, pb.ReplenishKitRequest(
        grid_code=f"{tree.city}-nowhere", item="wheelchair", quantity=1))
    assert unknown_grid.code() == grpc.StatusCode.NOT_FOUND
    unknown_item = rpc_error(api.LendKit, pb.LendKitRequest(grid_code=grid, item="crutches",
                                                            person_id=person))
    assert unknown_item.code() == grpc.StatusCode.NOT_FOUND
    unknown_loan = rpc_error(api.ReturnKit, pb.ReturnKitRequest(
        loan_id="00000000-0000-4000-8000-000000000009"))
    assert unknown_loan.code() == grpc.StatusCode.NOT_FOUND

    # The other grid's worker: their own grid is theirs (known from the token's scope alone),
    # this one is not.
    outsider = aid_stub(aid, token("grid_worker", [tree.grid_paths[1]], subject="gw-1"))
    own = outsider.ReplenishKit(pb.ReplenishKitRequest(grid_code=other_grid, item="walker",
                                                       quantity=1, lendable=True))
    assert own.available == 1
    for call, request in [
        (outsider.ReplenishKit, pb.ReplenishKitRequest(grid_code=grid, item="wheelchair",
                                                       quantity=1, lendable=True)),
        (outsider.LendKit, pb.LendKitRequest(grid_code=grid, item="wheelchair",
                                             person_id=person)),
        (outsider.ReturnKit, pb.ReturnKitRequest(loan_id=loan.loan_id)),
        (outsider.ListKitStock, pb.ListKitStockRequest(grid_code=grid)),
        # the person lives in the first grid: not the outsider's to lend to
        (outsider.LendKit, pb.LendKitRequest(grid_code=other_grid, item="walker",
                                             person_id=person)),
    ]:
        denied = rpc_error(call, request)
        assert denied.code() == grpc.StatusCode.PERMISSION_DENIED, request
    volunteer = aid_stub(aid, token("volunteer", [tree.city_path]))
    assert rpc_error(volunteer.LendKit, pb.LendKitRequest(
        grid_code=grid, item="wheelchair", person_id=person)
    ).code() == grpc.StatusCode.PERMISSION_DENIED
    chairs = stock_of(api, grid, "wheelchair")
    assert (chairs.total, chairs.available) == (2, 1)  # nothing changed by the refusals
    assert stock_of(api, other_grid, "walker").available == 1


def test_sickbed_visits_and_overdue_listing(tree: Tree, aid: str,
                                            stack: devstack.Stack) -> None:
    household = tree.household()
    ill = tree.register(household, priority_groups=["seriously_ill"]).person_id
    never = tree.register(household, priority_groups=["seriously_ill"]).person_id
    other = tree.register(household).person_id
    wait_projected(stack.database_url("aid"), [ill, never, other])
    api = aid_admin(tree, aid)
    now = datetime.now(UTC).replace(microsecond=0)
    visited = now - timedelta(days=1)

    schedule = api.RecordSickbedVisit(pb.RecordSickbedVisitRequest(
        person_id=ill, visited_at=ts(visited), note="血压正常"))
    assert schedule.last_visit_at.ToDatetime(tzinfo=UTC) == visited
    assert schedule.next_due_at.ToDatetime(tzinfo=UTC) == visited + timedelta(days=14)

    future = rpc_error(api.RecordSickbedVisit, pb.RecordSickbedVisitRequest(
        person_id=ill, visited_at=ts(now + timedelta(hours=2))))
    assert future.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(future)) == {"visited_at"}
    not_ill = rpc_error(api.RecordSickbedVisit, pb.RecordSickbedVisitRequest(person_id=other))
    assert not_ill.code() == grpc.StatusCode.FAILED_PRECONDITION
    outsider = aid_stub(aid, token("family_doctor", [tree.grid_paths[1]]))
    denied = rpc_error(outsider.RecordSickbedVisit, pb.RecordSickbedVisitRequest(person_id=ill))
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED

    def overdue(as_of: datetime) -> dict[str, pb.SickbedSchedule]:
        reply = api.ListOverdueSickbedVisits(pb.ListOverdueSickbedVisitsRequest(
            jurisdiction_path=tree.city_path, as_of=ts(as_of)))
        return {s.person_id: s for s in reply.overdue}

    soon = overdue(now + timedelta(days=12))
    assert set(soon) == {never}  # never visited: due since the aid service knew of them
    assert not soon[never].HasField("last_visit_at")
    later = overdue(now + timedelta(days=14))
    assert set(later) == {ill, never}
    assert later[ill].next_due_at.ToDatetime(tzinfo=UTC) == visited + timedelta(days=14)
    assert set(overdue(datetime.now(UTC))) == {never}

    doctor = aid_stub(aid, token("family_doctor", [tree.grid_paths[0]]))
    doctor.RecordSickbedVisit(pb.RecordSickbedVisitRequest(person_id=never))
    assert set(overdue(now + timedelta(days=12))) == set()


async def test_overdue_scan_notifies_once_per_due_visit(tree: Tree, aid: str,
                                                        stack: devstack.Stack) -> None:
    household = tree.household()
    ill = tree.register(household, priority_groups=["seriously_ill"]).person_id
    wait_projected(stack.database_url("aid"), [ill])
    api = aid_admin(tree, aid)
    visited = datetime.now(UTC).replace(microsecond=0) - timedelta(days=15)
    api.RecordSickbedVisit(pb.RecordSickbedVisitRequest(person_id=ill, visited_at=ts(visited)))
    first_due = visited + timedelta(days=14)

    db = Database(stack.database_url("aid"), "aid", 1, 2)
    await db.open()
    try:
        state = Aid(db, AidRules(), ZoneInfo("Asia/Shanghai"))
        await scan_sickbed(state)
        await scan_sickbed(state)  # already notified: nothing new
        api.RecordSickbedVisit(pb.RecordSickbedVisitRequest(person_id=ill))
        next_due = api.ListOverdueSickbedVisits(pb.ListOverdueSickbedVisitsRequest(
            jurisdiction_path=tree.city_path, as_of=ts(datetime.now(UTC) + timedelta(days=15))
        )).overdue[0].next_due_at.ToDatetime(tzinfo=UTC)
        in_three_weeks = datetime.now(UTC) + timedelta(days=21)
        await scan_sickbed(state, in_three_weeks)
        await scan_sickbed(state, in_three_weeks)
        async with db.unit_of_work(SYSTEM) as uow:
            rows = await uow.fetchall("SELECT event_type FROM outbox WHERE record_key = %s "
                                      "ORDER BY id", [ill])
    finally:
        await db.close()
    assert [r[0] for r in rows] == ["cdsp.events.v1.SickbedVisitOverdue"] * 2

    reader = TopicReader(stack.kafka_bootstrap, "cdsp.aid.v1")
    try:
        found = reader.wait_for(lambda envs: len(envs) >= 2, key=ill)
    finally:
        reader.close()
    payloads = [unpack_payload(e) for e in found]
    assert [p.due_at.ToDatetime(tzinfo=UTC) for p in payloads] == [  # type: ignore[attr-defined]
        first_due, next_due]
    assert {e.aggregate_type for e in found} == {"sickbed_schedule"}
