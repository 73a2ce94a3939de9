"""The minimum living standard has one source, the registry's jurisdiction records: the aid
service projects them (forward by version only) and caps relief by the standard of the deepest
jurisdiction at or above the household that sets one."""

from __future__ import annotations

import time
import uuid

import grpc
import psycopg
from google.protobuf.field_mask_pb2 import FieldMask
from kafka import KafkaProducer

import devstack
from cdsp.aid.v1 import aid_pb2 as pb
from cdsp.events.v1 import registry_pb2 as ev
from cdsp.events.v1.envelope_pb2 import Envelope
from cdsp.registry.v1 import registry_pb2 as rpb
from runtime.events import build_envelope
from tests.aid_helpers import aid_admin, open_case, relief_ready, wait_jurisdictions
from tests.helpers import Tree, rpc_error


def _set_standard(tree: Tree, code: str, fen: int, expected_version: int) -> None:
    changed = tree.admin.UpdateJurisdiction(rpb.UpdateJurisdictionRequest(
        jurisdiction=rpb.Jurisdiction(code=code, minimum_living_standard_fen=fen),
        update_mask=FieldMask(paths=["minimum_living_standard_fen"]),
        expected_version=expected_version))
    assert changed.version == expected_version + 1


def _grant(household_id: str, case_id: str, amount_fen: int) -> pb.GrantReliefRequest:
    return pb.GrantReliefRequest(household_id=household_id, case_id=case_id,
                                 amount_fen=amount_fen, reason="临时救助")


def test_the_cap_follows_the_registry_s_living_standard(tree: Tree, aid: str,
                                                        stack: devstack.Stack) -> None:
    url = stack.database_url("aid")
    household = tree.household()
    relief_ready(tree, url, household)
    api = aid_admin(tree, aid)
    case = open_case(api, household.household_id)
    hid, cid = household.household_id, case.case_id

    granted = api.GrantRelief(_grant(hid, cid, 139_500))  # 1.5 x 930 yuan
    assert (granted.case_granted_fen, granted.case_cap_fen) == (139_500, 139_500)
    assert rpc_error(api.GrantRelief, _grant(hid, cid, 1)).code() == \
        grpc.StatusCode.FAILED_PRECONDITION

    _set_standard(tree, tree.city, 98_000, expected_version=1)
    wait_jurisdictions(url, [tree.city], version=2)
    raised = api.GrantRelief(_grant(hid, cid, 7_500))
    assert (raised.case_granted_fen, raised.case_cap_fen) == (147_000, 147_000)
    over = rpc_error(api.GrantRelief, _grant(hid, cid, 1))
    assert "per-case cap of 1,470.00 yuan" in (over.details() or "")
    assert f"standard of 980.00 yuan set by {tree.city}" in (over.details() or "")

    # A community that sets a standard of its own: the deepest one applies.
    _set_standard(tree, tree.community, 100_000, expected_version=1)
    wait_jurisdictions(url, [tree.community], version=2)
    deeper = api.GrantRelief(_grant(hid, cid, 3_000))
    assert (deeper.case_granted_fen, deeper.case_cap_fen) == (150_000, 150_000)

    # Lowered below what the case already has: nothing more, however little.
    _set_standard(tree, tree.community, 90_000, expected_version=2)
    wait_jurisdictions(url, [tree.community], version=3)
    lower = rpc_error(api.GrantRelief, _grant(hid, cid, 1))
    assert "per-case cap of 1,350.00 yuan" in (lower.details() or "")
    assert "already been granted 1,500.00 yuan" in (lower.details() or "")
    assert (lower.details() or "").endswith("by 150.01 yuan")


def test_no_standard_known_decides_nothing(tree: Tree, aid: str, stack: devstack.Stack) -> None:
    url = stack.database_url("aid")
    _set_standard(tree, tree.city, 0, expected_version=1)  # the city no longer sets one
    household = tree.household()
    relief_ready(tree, url, household)
    wait_jurisdictions(url, [tree.city], version=2)
    api = aid_admin(tree, aid)
    case = open_case(api, household.household_id)

    missing = rpc_error(api.GrantRelief, _grant(household.household_id, case.case_id, 100))
    assert missing.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert f"no minimum living standard is known for city {tree.city}" in (missing.details()
                                                                           or "")
    assert tree.grid_paths[0] in (missing.details() or "")
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute("SELECT set_config('cdsp.scope', '/%', true)")
        written = conn.execute(
            "SELECT (SELECT count(*) FROM relief_ledger WHERE household_id = %s), "
            "(SELECT count(*) FROM relief_budgets WHERE community_path = %s), "
            "(SELECT relief_granted_fen FROM aid_cases WHERE case_id = %s)",
            [household.household_id, tree.community_path, case.case_id]).fetchone()
    assert written == (0, 0, 0)

    district = f"{tree.city}-d"  # the district sets one: it applies below it
    _set_standard(tree, district, 80_000, expected_version=1)
    wait_jurisdictions(url, [district], version=2)
    granted = api.GrantRelief(_grant(household.household_id, case.case_id, 120_000))
    assert granted.case_cap_fen == 120_000


def _event(change: ev.JurisdictionChanged, version: int) -> bytes:
    return build_envelope(change, aggregate_type="jurisdiction", aggregate_id=change.code,
                          version=version, jurisdiction_path=change.path, producer="registry",
                          actor="test", request_id="test").SerializeToString()


def test_older_or_duplicate_jurisdiction_events_change_nothing(stack: devstack.Stack,
                                                               aid: str) -> None:
    code = "J" + uuid.uuid4().hex[:8]

    def change(fen: int) -> ev.JurisdictionChanged:
        return ev.JurisdictionChanged(code=code, name="测试市", level=1, path=f"/{code}/",
                                      minimum_living_standard_fen=fen)

    v1, v2, v3 = _event(change(90_000), 1), _event(change(91_000), 2), _event(change(95_000), 3)
    producer = KafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
    for value in (v1, v3, v1, v2, v3):  # v3 overtakes v2; v1 and v3 arrive twice
        producer.send("cdsp.registry.v1", key=code.encode(), value=value)
    producer.flush()
    producer.close()

    url = stack.database_url("aid")
    ids = [Envelope.FromString(v).event_id for v in (v1, v2, v3)]
    deadline = time.monotonic() + 30
    with psycopg.connect(url, autocommit=True) as conn:
        while True:  # until every distinct event has been processed
            with conn.transaction():
                conn.execute("SELECT set_config('cdsp.scope', '/%', true)")
                done = conn.execute("SELECT count(*) FROM inbox WHERE consumer = "
                                    "'aid-registry-projection' AND event_id = ANY(%s::uuid[])",
                                    [ids]).fetchone()
            if done == (3,) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        row = conn.execute("SELECT path, level, minimum_living_standard_fen, version "
                           "FROM jurisdictions WHERE code = %s", [code]).fetchone()
    assert done == (3,)
    assert row == (f"/{code}/", 1, 95_000, 3)  # v2 came after v3 and changed nothing
