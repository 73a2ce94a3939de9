"""Helpers for volunteer tests: clients for a test's tree, waiting for the projection, and a
person who lives alone."""

from __future__ import annotations

from typing import Any

from cdsp.registry.v1 import registry_pb2 as rpb
from cdsp.volunteer.v1 import volunteer_pb2 as pb
from cdsp.volunteer.v1 import volunteer_pb2_grpc
from runtime.grpc_client import sync_channel
from tests.helpers import Tree, token
from tests.notification_helpers import ServiceDb, wait_until


def volunteer_stub(addr: str, tok: str) -> volunteer_pb2_grpc.VolunteerServiceStub:
    return volunteer_pb2_grpc.VolunteerServiceStub(sync_channel(addr, tok))


def volunteer_admin(tree: Tree, addr: str) -> volunteer_pb2_grpc.VolunteerServiceStub:
    return volunteer_stub(addr, token("city_admin", [tree.city_path], subject="vol-admin"))


def register_alone(tree: Tree, grid: int = 0, **fields: Any) -> rpb.Person:
    """A person who lives alone: cared for, green (monthly visits) from the start."""
    values: dict[str, Any] = {"living_situation": rpb.LIVING_SITUATION_ALONE}
    values.update(fields)
    return tree.register(tree.household(grid), **values)


def new_volunteer(tree: Tree, grid: int = 0, **fields: Any) -> pb.RegisterVolunteerRequest:
    values: dict[str, Any] = {"name": "陈志愿", "kind": 1, "phone": "13800001111",
                              "skills": ["companionship"], "grid_paths": [tree.grid_paths[grid]],
                              "availability": pb.Availability(weekdays=[6, 7],
                                                              hours="09:00-11:30")}
    values.update(fields)
    return pb.RegisterVolunteerRequest(**values)


def wait_persons(db_url: str, person_ids: list[str], timeout: float = 30.0) -> None:
    db = ServiceDb(db_url)
    wait_until(lambda: db.rows("SELECT count(*) FROM persons WHERE person_id = "
                               "ANY(%s::uuid[])", [person_ids])[0][0] == len(person_ids),
               f"persons {person_ids} projected into volunteer", timeout)
