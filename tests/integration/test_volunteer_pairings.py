"""Volunteer pairing: proposals of the person's grid with reasons, "1+1+N" pairs, the volunteer's
load bound under concurrent Pair calls, the refusals, ending with a reason (history kept), the
events and the jurisdictions."""

from __future__ import annotations

import threading
import uuid

import grpc

import devstack
from cdsp.events.v1 import registry_pb2 as rev
from cdsp.events.v1 import volunteer_pb2 as ev
from cdsp.registry.v1 import registry_pb2 as rpb
from cdsp.volunteer.v1 import volunteer_pb2 as pb
from runtime.events import unpack_payload
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

FAILED = grpc.StatusCode.FAILED_PRECONDITION
CW, VOL, NB = (ev.PAIRING_ROLE_COMMUNITY_WORKER, ev.PAIRING_ROLE_VOLUNTEER,
               ev.PAIRING_ROLE_NEIGHBOUR)


def _verified(api: object, request: pb.RegisterVolunteerRequest) -> pb.Volunteer:
    made = api.RegisterVolunteer(request)  # type: ignore[attr-defined]
    return api.VerifyVolunteer(  # type: ignore[attr-defined,no-any-return]
        pb.VerifyVolunteerRequest(volunteer_id=made.volunteer_id))


def _pair(person_id: str, volunteer_id: str, role: int) -> pb.PairRequest:
    return pb.PairRequest(person_id=person_id, volunteer_id=volunteer_id,
                          role=role)  # type: ignore[arg-type]


def test_proposals_of_the_grid_best_first_with_reasons(tree: Tree, volunteer: str,
                                                       stack: devstack.Stack) -> None:
    alone = register_alone(tree, category=2)   # hearing
    wait_persons(stack.database_url("volunteer"), [alone.person_id])
    api = volunteer_admin(tree, volunteer)
    # Living alone: a call or visit every day is called for, so every day of the week counts.
    signer = _verified(api, new_volunteer(tree, skills=["companionship", "sign_language"],
                                          availability=pb.Availability(
                                              weekdays=[1, 2, 3, 4, 5, 6, 7])))
    plain = _verified(api, new_volunteer(tree, skills=[]))
    neighbour = api.RegisterVolunteer(new_volunteer(tree, kind=3))   # unverified: fine
    worker = _verified(api, new_volunteer(tree, kind=5))
    above = _verified(api, new_volunteer(tree, grid_paths=[tree.community_path]))
    elsewhere = _verified(api, new_volunteer(tree, grid=1))
    found = api.ProposePairings(pb.ProposePairingsRequest(person_id=alone.person_id))
    assert found.structure == ("1+1+N (lives alone): missing the community worker, the "
                               "volunteer and a neighbour")
    by_id = {p.volunteer_id: p for p in found.proposals}
    assert elsewhere.volunteer_id not in by_id
    assert {v: by_id[v].role for v in (signer.volunteer_id, neighbour.volunteer_id,
                                       worker.volunteer_id)} == {
        signer.volunteer_id: VOL, neighbour.volunteer_id: NB, worker.volunteer_id: CW}
    assert (found.proposals[0].volunteer_id, found.proposals[0].score) == (
        signer.volunteer_id, 100)
    assert by_id[signer.volunteer_id].score > by_id[plain.volunteer_id].score
    assert by_id[plain.volunteer_id].score > by_id[above.volunteer_id].score
    assert [p.score for p in found.proposals] == sorted((p.score for p in found.proposals),
                                                        reverse=True)
    assert any("has companionship, sign_language" in r
               for r in by_id[signer.volunteer_id].reasons)
    assert any(r.startswith("verified +0") for r in by_id[neighbour.volunteer_id].reasons)

    api.Pair(_pair(alone.person_id, signer.volunteer_id, VOL))
    again = api.ProposePairings(pb.ProposePairingsRequest(person_id=alone.person_id, limit=2))
    assert again.structure == ("1+1+N (lives alone): missing the community worker and a "
                               "neighbour")
    assert len(again.proposals) == 2
    assert signer.volunteer_id not in {p.volunteer_id for p in again.proposals}
    assert VOL not in {p.role for p in again.proposals}   # that role is taken now


def test_the_load_bound_holds_under_concurrent_pairs(tree: Tree, volunteer: str,
                                                     stack: devstack.Stack) -> None:
    persons = [register_alone(tree).person_id for _ in range(8)]
    url = stack.database_url("volunteer")
    wait_persons(url, persons)
    api = volunteer_admin(tree, volunteer)
    target = _verified(api, new_volunteer(tree, max_load=3))
    barrier = threading.Barrier(len(persons))
    outcomes: list[tuple[grpc.StatusCode, str]] = []
    lock = threading.Lock()

    def pair(person_id: str) -> None:
        own = volunteer_admin(tree, volunteer)   # a channel of its own
        barrier.wait()
        try:
            own.Pair(_pair(person_id, target.volunteer_id, VOL))
            found = (grpc.StatusCode.OK, "")
        except grpc.RpcError as exc:
            found = (exc.code(), exc.details() or "")
        with lock:
            outcomes.append(found)

    threads = [threading.Thread(target=pair, args=(p,)) for p in persons]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    codes = sorted(code.name for code, _ in outcomes)
    assert codes == ["FAILED_PRECONDITION"] * 5 + ["OK"] * 3
    bound = f"volunteer {target.volunteer_id} already visits 3 persons, the most they may"
    assert all(bound in details for code, details in outcomes if code == FAILED)
    db = ServiceDb(url)
    assert db.rows("SELECT load FROM volunteers WHERE volunteer_id = %s",
                   [target.volunteer_id]) == [(3,)]
    assert db.rows("SELECT count(*) FROM pairings WHERE volunteer_id = %s AND ended_at IS "
                   "NULL", [target.volunteer_id]) == [(3,)]
    assert api.GetVolunteer(pb.GetVolunteerRequest(volunteer_id=target.volunteer_id)
                            ).load == 3


def test_pairing_rules_and_history(tree: Tree, volunteer: str, stack: devstack.Stack) -> None:
    alone = register_alone(tree)
    wait_persons(stack.database_url("volunteer"), [alone.person_id])
    api = volunteer_admin(tree, volunteer)
    worker = volunteer_stub(volunteer, token("grid_worker", [tree.grid_paths[0]]))
    first = _verified(api, new_volunteer(tree))
    second = _verified(api, new_volunteer(tree, kind=2))
    unverified = api.RegisterVolunteer(new_volunteer(tree, kind=3))
    elsewhere = _verified(api, new_volunteer(tree, grid=1))

    exc = rpc_error(api.Pair, _pair(alone.person_id, elsewhere.volunteer_id, NB))
    assert exc.code() == FAILED and "does not serve the person's grid" in (exc.details() or "")
    exc = rpc_error(worker.Pair, _pair(alone.person_id, unverified.volunteer_id, VOL))
    assert exc.code() == FAILED and "not verified" in (exc.details() or "")
    exc = rpc_error(worker.Pair, _pair(alone.person_id, first.volunteer_id, CW))
    assert exc.code() == FAILED and "only a community worker" in (exc.details() or "")
    as_neighbour = worker.Pair(_pair(alone.person_id, unverified.volunteer_id, NB))
    assert as_neighbour.active and as_neighbour.role == NB

    made = worker.Pair(_pair(alone.person_id, first.volunteer_id, VOL))
    assert made.active and made.role == VOL and made.started_at.seconds > 0
    assert not made.HasField("ended_at")
    assert rpc_error(worker.Pair, _pair(alone.person_id, first.volunteer_id, NB)
                     ).code() == grpc.StatusCode.ALREADY_EXISTS
    exc = rpc_error(worker.Pair, _pair(alone.person_id, second.volunteer_id, VOL))
    assert exc.code() == FAILED and "end that pairing first" in (exc.details() or "")
    assert api.GetVolunteer(pb.GetVolunteerRequest(volunteer_id=first.volunteer_id)
                            ).load == 1
    assert api.GetVolunteer(pb.GetVolunteerRequest(volunteer_id=unverified.volunteer_id)
                            ).load == 0   # a neighbour does not count

    ended = worker.EndPairing(pb.EndPairingRequest(pairing_id=made.pairing_id,
                                                   reason="志愿者毕业离校"))
    assert not ended.active and ended.end_reason == "志愿者毕业离校" and ended.HasField("ended_at")
    assert rpc_error(worker.EndPairing, pb.EndPairingRequest(
        pairing_id=made.pairing_id, reason="again")).code() == FAILED
    assert api.GetVolunteer(pb.GetVolunteerRequest(volunteer_id=first.volunteer_id)
                            ).load == 0
    replaced = worker.Pair(_pair(alone.person_id, second.volunteer_id, VOL))

    listed = worker.ListPairings(pb.ListPairingsRequest(person_id=alone.person_id)).pairings
    assert [(p.pairing_id, p.active) for p in listed] == [
        (replaced.pairing_id, True), (as_neighbour.pairing_id, True), (made.pairing_id, False)]
    assert listed[-1].end_reason == "志愿者毕业离校"
    mine = api.ListPairings(pb.ListPairingsRequest(volunteer_id=first.volunteer_id)).pairings
    assert [(p.pairing_id, p.active) for p in mine] == [(made.pairing_id, False)]

    reader = TopicReader(stack.kafka_bootstrap, "cdsp.volunteer.v1")
    try:
        found = reader.wait_for(lambda envs: len(envs) == 2, key=made.pairing_id)
    finally:
        reader.close()
    payloads = [unpack_payload(e) for e in found]
    assert payloads == [
        ev.PairingMade(pairing_id=made.pairing_id, person_id=alone.person_id,
                       volunteer_id=first.volunteer_id, role=VOL),  # type: ignore[arg-type]
        ev.PairingEnded(pairing_id=made.pairing_id, person_id=alone.person_id,
                        volunteer_id=first.volunteer_id, reason="志愿者毕业离校")]
    assert {e.aggregate_type for e in found} == {"pairing"}
    assert [e.aggregate_version for e in found] == [1, 2]


def test_jurisdictions_roles_and_bad_input(tree: Tree, volunteer: str,
                                           stack: devstack.Stack) -> None:
    alone = register_alone(tree)
    wait_persons(stack.database_url("volunteer"), [alone.person_id])
    api = volunteer_admin(tree, volunteer)
    helper = _verified(api, new_volunteer(tree))
    made = api.Pair(_pair(alone.person_id, helper.volunteer_id, VOL))
    other = volunteer_stub(volunteer, token("grid_worker", [tree.grid_paths[1]]))
    denied = grpc.StatusCode.PERMISSION_DENIED
    assert rpc_error(other.Pair, _pair(alone.person_id, helper.volunteer_id, NB)
                     ).code() == denied
    assert rpc_error(other.EndPairing, pb.EndPairingRequest(pairing_id=made.pairing_id,
                                                            reason="x")).code() == denied
    assert rpc_error(other.ListPairings, pb.ListPairingsRequest(person_id=alone.person_id)
                     ).code() == denied
    assert rpc_error(other.ProposePairings, pb.ProposePairingsRequest(
        person_id=alone.person_id)).code() == denied
    visitor = volunteer_stub(volunteer, token("volunteer", [tree.grid_paths[0]]))
    assert rpc_error(visitor.EndPairing, pb.EndPairingRequest(pairing_id=made.pairing_id,
                                                              reason="x")).code() == denied
    assert rpc_error(api.EndPairing, pb.EndPairingRequest(
        pairing_id=str(uuid.uuid4()), reason="x")).code() == grpc.StatusCode.NOT_FOUND

    invalid = grpc.StatusCode.INVALID_ARGUMENT
    exc = rpc_error(api.Pair, pb.PairRequest(person_id="x", volunteer_id="", role=9))
    assert exc.code() == invalid
    assert set(violations(exc)) == {"person_id", "volunteer_id", "role"}
    exc = rpc_error(api.EndPairing, pb.EndPairingRequest(pairing_id="nope", reason=" "))
    assert exc.code() == invalid and set(violations(exc)) == {"pairing_id", "reason"}
    exc = rpc_error(api.ProposePairings, pb.ProposePairingsRequest(person_id="1", limit=99))
    assert exc.code() == invalid and set(violations(exc)) == {"person_id", "limit"}
    exc = rpc_error(api.ListPairings, pb.ListPairingsRequest())
    assert exc.code() == invalid and set(violations(exc)) == {"person_id"}
    exc = rpc_error(api.ListPairings, pb.ListPairingsRequest(volunteer_id="bad"))
    assert exc.code() == invalid and set(violations(exc)) == {"volunteer_id"}
    assert api.ListPairings(pb.ListPairingsRequest(person_id=alone.person_id)
                            ).pairings[0].active   # nothing changed by the refusals


def test_an_archived_person_frees_their_volunteers(tree: Tree, volunteer: str,
                                                   stack: devstack.Stack) -> None:
    alone = register_alone(tree)
    wait_persons(stack.database_url("volunteer"), [alone.person_id])
    api = volunteer_admin(tree, volunteer)
    helper = _verified(api, new_volunteer(tree))
    made = api.Pair(_pair(alone.person_id, helper.volunteer_id, VOL))
    assert api.GetVolunteer(pb.GetVolunteerRequest(volunteer_id=helper.volunteer_id)).load == 1
    tree.admin.ArchivePerson(rpb.ArchivePersonRequest(
        person_id=alone.person_id, reason=rev.ARCHIVE_REASON_MOVED_OUT,
        expected_version=alone.version))
    db = ServiceDb(stack.database_url("volunteer"))
    wait_until(lambda: db.rows("SELECT end_reason FROM pairings WHERE pairing_id = %s",
                               [made.pairing_id]) == [("the person's record was archived",)],
               "the pairing ended with the archive")
    assert api.GetVolunteer(pb.GetVolunteerRequest(volunteer_id=helper.volunteer_id)).load == 0
