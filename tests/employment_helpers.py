"""Helpers for employment tests: clients for a test's tree, waiting for the projection, and a
working-age person with an employment need, assessed."""

from __future__ import annotations

from typing import Any

from cdsp.common.v1 import common_pb2 as common
from cdsp.employment.v1 import employment_pb2 as pb
from cdsp.employment.v1 import employment_pb2_grpc
from cdsp.registry.v1 import registry_pb2 as rpb
from runtime.grpc_client import sync_channel
from tests.helpers import Tree, token
from tests.notification_helpers import ServiceDb, wait_until

INDICATORS = ("physical_function", "cognition", "communication", "interests", "skills",
              "work_stamina", "social_adaptation")


def employment_stub(addr: str, tok: str) -> employment_pb2_grpc.EmploymentServiceStub:
    return employment_pb2_grpc.EmploymentServiceStub(sync_channel(addr, tok))


def employment_admin(tree: Tree, addr: str) -> employment_pb2_grpc.EmploymentServiceStub:
    return employment_stub(addr, token("city_admin", [tree.city_path], subject="emp-admin"))


def scores(**given: int) -> list[pb.IndicatorScore]:
    """Every indicator at 3, unless given."""
    return [pb.IndicatorScore(indicator=n, score=given.get(n, 3)) for n in INDICATORS]


def register_job_seeker(tree: Tree, grid: int = 0, **fields: Any) -> rpb.Person:
    """A working-age person who wants work (the registry records an employment need)."""
    values: dict[str, Any] = {"needs": [rpb.Need(code="employment")]}
    values.update(fields)
    return tree.register(tree.household(grid), **values)


def wait_candidates(db_url: str, person_ids: list[str], timeout: float = 30.0) -> None:
    db = ServiceDb(db_url)
    wait_until(lambda: db.rows("SELECT count(*) FROM candidates WHERE person_id = "
                               "ANY(%s::uuid[])", [person_ids])[0][0] == len(person_ids),
               f"persons {person_ids} projected into employment", timeout)


PHYSICAL = common.DISABILITY_CATEGORY_PHYSICAL
INTELLECTUAL = common.DISABILITY_CATEGORY_INTELLECTUAL
