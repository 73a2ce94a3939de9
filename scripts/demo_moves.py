"""The demo's part for what happens where services' events meet: a household of grid 1 moves to
grid 2 and every service re-homes what it holds of its members (the new grid's worker sees the
open aid request and the care schedule, the old grid's no longer does), then it moves back; and
the registry re-publishes its jurisdictions as snapshot events (a rebuild), which the services
apply without anyone being notified."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from demo_checks import check, expect_error
from google.protobuf.field_mask_pb2 import FieldMask

import devstack
import sample_community as sample_tree
from cdsp.aid.v1 import aid_pb2 as apb
from cdsp.aid.v1.aid_pb2_grpc import AidServiceStub
from cdsp.registry.v1 import registry_pb2 as rpb
from cdsp.registry.v1.registry_pb2_grpc import RegistryServiceStub
from cdsp.volunteer.v1 import volunteer_pb2 as vpb
from cdsp.volunteer.v1.volunteer_pb2_grpc import VolunteerServiceStub
from runtime.grpc_client import sync_channel

ROOT = Path(__file__).resolve().parent.parent


def _until(what: str, done: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return True
        time.sleep(0.2)
    check(False, f"{what} within {timeout:.0f}s")
    return False


def _sees(call: Callable[[], Any]) -> bool:
    try:
        call()
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.PERMISSION_DENIED:
            return False
        raise
    return True


def _move(registry: RegistryServiceStub, household_id: str, grid: str) -> rpb.Household:
    current = registry.GetHousehold(rpb.GetHouseholdRequest(household_id=household_id))
    moved: rpb.Household = registry.UpdateHousehold(rpb.UpdateHouseholdRequest(
        household=rpb.Household(household_id=household_id, grid_code=grid),
        update_mask=FieldMask(paths=["grid_code"]), expected_version=current.version))
    return moved


def run(stack: devstack.Stack, sample: dict[str, Any], admin_token: str) -> None:
    community = sample["community_path"]
    first, second = sample_tree.GRIDS[0], sample_tree.GRIDS[1]
    token = stack.token("cw-01", "community_worker", [community])
    registry = RegistryServiceStub(sync_channel(stack.grpc_addr("registry"), token))
    aid = AidServiceStub(sync_channel(stack.grpc_addr("aid"), token))
    grid_aid = {g: AidServiceStub(sync_channel(stack.grpc_addr("aid"), stack.token(
        f"gw-{g}", "grid_worker", [sample_tree.GRID_PATHS[g]])))
        for g in (first, second)}
    grid_care = {g: VolunteerServiceStub(sync_channel(stack.grpc_addr("volunteer"), stack.token(
        f"gw-{g}", "grid_worker", [sample_tree.GRID_PATHS[g]])))
        for g in (first, second)}
    person = registry.GetPerson(rpb.GetPersonRequest(person_id=sample["persons"][0]))
    print(f"\n=== 搬家 A household moves from grid {first} to grid {second} "
          "(community worker cw-01)")
    request = aid.SubmitRequest(apb.SubmitRequestRequest(person_id=person.person_id,
                                                         description="需要陪同就医"))
    open_request = apb.GetRequestRequest(request_id=request.request_id)
    check(_sees(lambda: grid_aid[first].GetRequest(open_request)),
          f"an open request of the household, seen by grid {first}")
    moved = _move(registry, person.household_id, second)
    check(moved.jurisdiction_path == sample_tree.GRID_PATHS[second],
          f"the registry files the household and its members under {moved.jurisdiction_path}")
    schedule = vpb.GetCareScheduleRequest(person_id=person.person_id)
    _until(f"grid {second}'s worker sees the open aid request",
           lambda: _sees(lambda: grid_aid[second].GetRequest(open_request)))
    check(not _sees(lambda: grid_aid[first].GetRequest(open_request)),
          f"grid {first}'s worker no longer does (the aid service re-homed it)")
    _until(f"grid {second}'s worker sees the care schedule",
           lambda: _sees(lambda: grid_care[second].GetCareSchedule(schedule)))
    check(True, f"the volunteer service re-homed the care schedule to grid {second}")
    back = _move(registry, person.household_id, first)
    _until(f"back in grid {first}: its worker sees the request again",
           lambda: _sees(lambda: grid_aid[first].GetRequest(open_request)))
    expect_error(grpc.StatusCode.PERMISSION_DENIED,
                 lambda: grid_aid[second].GetRequest(open_request),
                 f"grid {second}'s worker asks for it after the household moved back "
                 f"(version {back.version})")
    aid.DispatchRequest(apb.DispatchRequestRequest(request_id=request.request_id,
                                                   team="一网格服务队"))
    aid.RecordArrival(apb.RecordArrivalRequest(request_id=request.request_id))
    aid.ResolveRequest(apb.ResolveRequestRequest(request_id=request.request_id,
                                                 result="已陪同就医"))
    _rebuild(stack)


def _rebuild(stack: devstack.Stack) -> None:
    print("\n=== 重建 The registry re-publishes its jurisdictions as snapshot events")
    done = subprocess.run(
        [sys.executable, "-m", "runtime.snapshot_cli", "registry", "--only", "jurisdiction"],
        env={**os.environ, "PYTHONPATH": str(ROOT / "services"),
             "CDSP_DATABASE_URL": stack.database_url("registry")},
        capture_output=True, text=True, timeout=120, check=False)
    written = dict(line.split("\t") for line in done.stdout.splitlines() if "\t" in line)
    check(done.returncode == 0 and int(written.get("jurisdiction", "0")) > 0,
          f"python -m runtime.snapshot_cli registry --only jurisdiction: "
          f"{written.get('jurisdiction', '?')} jurisdictions written to the outbox; the services "
          "apply them by version (nothing changes where they are current) and notify nobody")
