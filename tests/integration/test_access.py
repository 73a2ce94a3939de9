"""Caller identity and jurisdictions: tokens, roles, and people outside the caller's scope."""

from __future__ import annotations

from pathlib import Path

import grpc
import psycopg
from google.protobuf.field_mask_pb2 import FieldMask

from cdsp.registry.v1 import registry_pb2 as pb
from cdsp.registry.v1 import registry_pb2_grpc
from dev_identity import LocalIdentity
from runtime.grpc_client import sync_channel
from tests.helpers import Tree, person, rpc_error, stub, token


def test_missing_or_invalid_tokens_are_unauthenticated(tree: Tree, tmp_path: Path) -> None:
    request = pb.GetStatisticsRequest(jurisdiction_path=tree.city_path)
    bare = registry_pb2_grpc.RegistryServiceStub(grpc.insecure_channel(tree.addr))
    assert rpc_error(bare.GetStatistics, request).code() == grpc.StatusCode.UNAUTHENTICATED
    forged = stub(tree.addr, LocalIdentity(tmp_path / "stranger").mint(
        "tester", "city_admin", [tree.city_path]))
    assert rpc_error(forged.GetStatistics, request).code() == grpc.StatusCode.UNAUTHENTICATED
    expired = stub(tree.addr, token(scopes=[tree.city_path], ttl=-120))
    exc = rpc_error(expired.GetStatistics, request)
    assert exc.code() == grpc.StatusCode.UNAUTHENTICATED and "expired" in (exc.details() or "")
    garbage = registry_pb2_grpc.RegistryServiceStub(sync_channel(tree.addr, "not.a.jwt"))
    assert rpc_error(garbage.GetStatistics, request).code() == grpc.StatusCode.UNAUTHENTICATED


def test_worker_sees_and_changes_only_their_grid(tree: Tree) -> None:
    mine = tree.register(tree.household(grid=0))
    theirs = tree.register(tree.household(grid=1))
    worker = tree.worker(0)
    assert worker.GetPerson(pb.GetPersonRequest(person_id=mine.person_id)).person_id == \
        mine.person_id
    denied = rpc_error(worker.GetPerson, pb.GetPersonRequest(person_id=theirs.person_id))
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    update = rpc_error(worker.UpdatePerson, pb.UpdatePersonRequest(
        person=pb.Person(person_id=theirs.person_id, phone="13811112222"),
        update_mask=FieldMask(paths=["phone"]), expected_version=1))
    assert update.code() == grpc.StatusCode.PERMISSION_DENIED
    listed = worker.ListPersons(pb.ListPersonsRequest())
    assert {p.person_id for p in listed.persons} == {mine.person_id}
    outside = rpc_error(worker.ListPersons, pb.ListPersonsRequest(
        jurisdiction_path=tree.community_path))
    assert outside.code() == grpc.StatusCode.PERMISSION_DENIED
    stats = rpc_error(worker.GetStatistics, pb.GetStatisticsRequest(
        jurisdiction_path=tree.grid_paths[1]))
    assert stats.code() == grpc.StatusCode.PERMISSION_DENIED
    other_household = tree.household(grid=1)
    register = rpc_error(worker.RegisterPerson, pb.RegisterPersonRequest(
        person=person(other_household.household_id)))
    assert register.code() == grpc.StatusCode.PERMISSION_DENIED
    household = rpc_error(worker.CreateHousehold, pb.CreateHouseholdRequest(
        grid_code=tree.grids[1], address="x", monthly_income_fen=1))
    assert household.code() == grpc.StatusCode.PERMISSION_DENIED
    # Nothing changed by the refused calls.
    assert tree.admin.GetPerson(pb.GetPersonRequest(person_id=theirs.person_id)).version == 1


def test_move_to_a_household_outside_scope_is_denied(tree: Tree) -> None:
    p = tree.register(tree.household(grid=0))
    target = tree.household(grid=1)
    exc = rpc_error(tree.worker(0).UpdatePerson, pb.UpdatePersonRequest(
        person=pb.Person(person_id=p.person_id, household_id=target.household_id),
        update_mask=FieldMask(paths=["household_id"]), expected_version=1))
    assert exc.code() == grpc.StatusCode.PERMISSION_DENIED
    moved = tree.admin.UpdatePerson(pb.UpdatePersonRequest(
        person=pb.Person(person_id=p.person_id, household_id=target.household_id),
        update_mask=FieldMask(paths=["household_id"]), expected_version=1))
    assert moved.jurisdiction_path == tree.grid_paths[1]


def test_jurisdictions_visible_are_own_below_and_above(tree: Tree) -> None:
    worker = tree.worker(0)
    assert worker.GetJurisdiction(pb.GetJurisdictionRequest(code=tree.community)).path == \
        tree.community_path
    assert worker.GetJurisdiction(pb.GetJurisdictionRequest(code=tree.grids[0])).code == \
        tree.grids[0]
    neighbour = rpc_error(worker.GetJurisdiction, pb.GetJurisdictionRequest(code=tree.grids[1]))
    assert neighbour.code() == grpc.StatusCode.PERMISSION_DENIED
    children = worker.ListJurisdictions(pb.ListJurisdictionsRequest(parent_code=tree.community))
    assert [j.code for j in children.jurisdictions] == [tree.grids[0]]
    own = worker.ListJurisdictions(pb.ListJurisdictionsRequest())
    assert [j.path for j in own.jurisdictions] == [tree.grid_paths[0]]
    stranger = stub(tree.addr, token("city_admin", ["/elsewhere/"]))
    assert rpc_error(stranger.GetJurisdiction, pb.GetJurisdictionRequest(
        code=tree.city)).code() == grpc.StatusCode.PERMISSION_DENIED


def test_roles(tree: Tree) -> None:
    p = tree.register()
    volunteer = stub(tree.addr, token("volunteer", [tree.grid_paths[0]]))
    assert rpc_error(volunteer.GetPerson, pb.GetPersonRequest(
        person_id=p.person_id)).code() == grpc.StatusCode.PERMISSION_DENIED
    doctor = stub(tree.addr, token("family_doctor", [tree.grid_paths[0]]))
    seen = doctor.GetPerson(pb.GetPersonRequest(person_id=p.person_id))
    assert seen.name == p.name
    assert seen.resident_id != p.resident_id and seen.resident_id.startswith(p.resident_id[:6])
    assert rpc_error(doctor.UpdatePerson, pb.UpdatePersonRequest(
        person=pb.Person(person_id=p.person_id, phone="13811112222"),
        update_mask=FieldMask(paths=["phone"]), expected_version=1)).code() == \
        grpc.StatusCode.PERMISSION_DENIED


def test_row_level_security_in_the_database(tree: Tree, registry_db: psycopg.Connection) -> None:
    """Even SQL that forgets the jurisdiction filter sees only the scope set for the
    transaction, and nothing without one."""
    tree.register(tree.household(grid=0))
    tree.register(tree.household(grid=1))
    with registry_db.transaction():
        registry_db.execute("SELECT set_config('cdsp.scope', %s, true)",
                            [tree.grid_paths[0] + "%"])
        paths = {r[0] for r in registry_db.execute(
            "SELECT jurisdiction_path FROM persons").fetchall()}
    assert paths == {tree.grid_paths[0]}
    with registry_db.transaction():
        assert registry_db.execute("SELECT count(*) FROM persons").fetchone() == (0,)
    with registry_db.transaction():
        registry_db.execute("SELECT set_config('cdsp.scope', %s, true)",
                            [tree.grid_paths[0] + "%"])
        try:
            registry_db.execute("UPDATE persons SET jurisdiction_path = %s "
                                "WHERE jurisdiction_path = %s",
                                [tree.grid_paths[1], tree.grid_paths[0]])
        except psycopg.errors.InsufficientPrivilege:
            pass
        else:
            raise AssertionError("moving a row out of scope must violate the policy")
