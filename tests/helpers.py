"""Test helpers: valid resident IDs, tokens of the session's own issuer key, a fresh jurisdiction
tree per test, typed API calls."""

from __future__ import annotations

import itertools
import os
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import grpc
import psycopg

from cdsp.common.v1 import common_pb2 as common
from cdsp.registry.v1 import registry_pb2 as pb
from cdsp.registry.v1 import registry_pb2_grpc
from dev_identity import LocalIdentity, local_identity
from registry.adapters import person_store
from registry.domain.resident_id import check_char
from runtime import pii
from runtime.grpc_client import bad_request_fields, sync_channel
from runtime.token_signing import SERVICE_AUDIENCES

ROOT = Path(__file__).resolve().parent.parent
# The test session's state folder (its stack's data, logs and identity): one per session, so
# several sessions can run at once.
SESSION_STATE = ROOT / ".local-test" / f"run-{os.getpid()}"

_sequence = itertools.count(random.randrange(1, 500) * 1000)


def resident_id(born: date, male: bool = True, area: str = "350502") -> str:
    """A valid, never-repeated resident ID for someone born on `born`."""
    n = next(_sequence)
    seq = (n % 500) * 2 + (1 if male else 0)
    area = f"{(int(area) + n // 500) % 900000 + 100000:06d}"
    first17 = f"{area}{born:%Y%m%d}{seq:03d}"
    return first17 + check_char(first17)


def years_ago(years: int, days: int = 0) -> date:
    today = date.today()
    try:
        return today.replace(year=today.year - years) - timedelta(days=days)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28) - timedelta(days=days)


def session_identity() -> LocalIdentity:
    """The session's identity folder: the key every test token is signed with, the JWKS and the
    revocation list the session's services read."""
    return local_identity(SESSION_STATE / "identity").ensure()


def token(role: str = "city_admin", scopes: list[str] | None = None, subject: str = "tester",
          ttl: int = 3600, audience: str | Sequence[str] = SERVICE_AUDIENCES,
          **claims: Any) -> str:
    """A token of the session's issuer key, good for every service (or `audience`); `claims`:
    person_id, wards, issued_at, extra (runtime.token_signing.mint_token)."""
    return session_identity().mint(subject, role, scopes or ["/T/"], ttl, audience, **claims)


def stub(addr: str, tok: str) -> registry_pb2_grpc.RegistryServiceStub:
    return registry_pb2_grpc.RegistryServiceStub(sync_channel(addr, tok))


def rpc_error(call: Any, *args: Any) -> grpc.RpcError:
    """Calls and returns the error it must raise."""
    try:
        call(*args)
    except grpc.RpcError as exc:
        return exc
    raise AssertionError("the call succeeded but was expected to fail")


def violations(exc: grpc.RpcError) -> dict[str, str]:
    return bad_request_fields(exc)


@dataclass
class Tree:
    """A city of its own for one test: city → district → street → community → 2 grids."""

    city: str
    community: str
    grids: list[str]
    community_path: str
    grid_paths: list[str]
    admin: registry_pb2_grpc.RegistryServiceStub
    addr: str

    @property
    def city_path(self) -> str:
        return f"/{self.city}/"

    def worker(self, grid: int, role: str = "grid_worker") -> registry_pb2_grpc.RegistryServiceStub:
        return stub(self.addr, token(role, [self.grid_paths[grid]], subject=f"gw-{grid}"))

    def household(self, grid: int = 0, income_fen: int = 250_000) -> pb.Household:
        return self.admin.CreateHousehold(pb.CreateHouseholdRequest(
            grid_code=self.grids[grid], address=f"{self.grids[grid]} 1号楼",
            monthly_income_fen=income_fen))

    def register(self, household: pb.Household | None = None, **fields: Any) -> pb.Person:
        household = household or self.household()
        return self.admin.RegisterPerson(pb.RegisterPersonRequest(
            person=person(household.household_id, **fields)))


def make_tree(addr: str) -> Tree:
    city = "T" + uuid.uuid4().hex[:10]
    admin = stub(addr, token("city_admin", [f"/{city}/"]))
    codes = [city, f"{city}-d", f"{city}-s", f"{city}-c"]
    parent = ""
    for level, code in enumerate(codes, start=1):
        admin.CreateJurisdiction(pb.CreateJurisdictionRequest(
            code=code, name=f"测试{level}", level=level, parent_code=parent,
            minimum_living_standard_fen=93_000 if level == 1 else 0))
        parent = code
    grids = [f"{city}-g1", f"{city}-g2"]
    for grid in grids:
        admin.CreateJurisdiction(pb.CreateJurisdictionRequest(
            code=grid, name="网格", level=pb.JURISDICTION_LEVEL_GRID, parent_code=codes[-1]))
    community_path = "/" + "/".join(codes) + "/"
    return Tree(city, codes[-1], grids, community_path,
                [f"{community_path}{g}/" for g in grids], admin, addr)


def person(household_id: str, **fields: Any) -> pb.Person:
    """A valid certified adult, with any field overridden."""
    values: dict[str, Any] = {
        "name": "王小明",
        "resident_id": resident_id(years_ago(40)),
        "category": common.DISABILITY_CATEGORY_PHYSICAL,
        "grade": 3,
        "certified": True,
        "household_id": household_id,
        "phone": "13912345678",
        "preferred_channel": common.CONTACT_CHANNEL_SMS,
        "liaison": pb.Liaison(worker_id="gw-01", name="联系员"),
        "living_situation": pb.LIVING_SITUATION_WITH_FAMILY,
    }
    values.update(fields)
    return pb.Person(**values)


def age_record(db: psycopg.Connection, person_id: str, born: date) -> str:
    """Time passing for one record: it gets the birth date `born`, with a resident ID to match,
    as if the person had been registered that much earlier (the service reads "today" from the
    clock, so the person moves instead). Returns the new resident ID."""
    number = resident_id(born)
    sealed = pii.keys().seal(number, pii.aad(person_store.RESIDENT_ID, person_id))
    with db.transaction():
        db.execute("SELECT set_config('cdsp.scope', '/%', true)")
        db.execute("UPDATE persons SET resident_id_sealed = %s, resident_id_index = %s, "
                   "birth_date = %s WHERE person_id = %s",
                   [sealed, person_store.resident_id_index(number), born, person_id])
    return number


def baby(tree: Tree, household: pb.Household | None = None, born: date | None = None,
         **fields: Any) -> pb.Person:
    """An uncertified child (under 3 when registered) with a guardian."""
    return tree.register(household, resident_id=resident_id(born or years_ago(1)),
                         certified=False, grade=0, phone="",
                         guardian=pb.Guardian(name="母亲", phone="13700001111", relation="母亲"),
                         **fields)
