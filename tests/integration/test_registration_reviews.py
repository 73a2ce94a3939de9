"""A resident ID registered where its file is not kept (issue 13): the worker learns only that
the registration awaits review; the administrators who cover both places list and decide it."""

from __future__ import annotations

import grpc
import psycopg

import devstack
from cdsp.events.v1 import registry_pb2 as ev
from cdsp.registry.v1 import registry_pb2 as pb
from tests.helpers import Tree, person, rpc_error, stub, token, violations


def _moved_out(tree: Tree) -> pb.Person:
    p = tree.register()
    return tree.admin.ArchivePerson(pb.ArchivePersonRequest(
        person_id=p.person_id, reason=ev.ARCHIVE_REASON_MOVED_OUT, expected_version=p.version))


def test_a_registration_elsewhere_goes_to_the_review_of_those_who_cover_both_places(
        tree: Tree, registry_db: psycopg.Connection) -> None:
    gw1 = tree.worker(1)
    archived = _moved_out(tree)   # filed in grid 0
    active = tree.register()      # filed in grid 0, not archived
    home = tree.household(1)
    answers = [rpc_error(gw1.RegisterPerson, pb.RegisterPersonRequest(person=person(
        home.household_id, resident_id=p.resident_id))) for p in (archived, active)]
    for answer, held in zip(answers, (archived, active), strict=True):
        # The same answer whatever became of the record, naming neither it nor where it is.
        assert answer.code() == grpc.StatusCode.FAILED_PRECONDITION
        for secret in (held.person_id, held.resident_id, tree.grids[0], "moved", "archived",
                       "active"):
            assert secret not in answer.details(), secret
        assert "review list" in answer.details()
    review_ids = [a.details().rsplit(" ", 1)[-1] for a in answers]

    # Those below the common path do not see it; the community worker who covers both does.
    assert rpc_error(gw1.ListRegistrationReviews, pb.ListRegistrationReviewsRequest()
                     ).code() == grpc.StatusCode.PERMISSION_DENIED
    grid_manager = stub(tree.addr, token("community_worker", [tree.grid_paths[1]]))
    assert list(grid_manager.ListRegistrationReviews(
        pb.ListRegistrationReviewsRequest()).reviews) == []
    community = stub(tree.addr, token("community_worker", [tree.community_path],
                                      subject="cw-1"))
    listed = community.ListRegistrationReviews(pb.ListRegistrationReviewsRequest()).reviews
    assert [r.review_id for r in listed] == review_ids
    first = listed[0]
    assert (first.jurisdiction_path, first.requested_path, first.holder_path) == (
        tree.community_path, tree.grid_paths[1], tree.grid_paths[0])
    assert (first.holder_person_id, first.household_id, first.requested_by) == (
        archived.person_id, home.household_id, "gw-1")
    assert first.resolution == pb.REVIEW_RESOLUTION_UNSPECIFIED and first.version == 1

    # Bad decisions change nothing.
    bad = rpc_error(community.ResolveRegistrationReview, pb.ResolveRegistrationReviewRequest(
        review_id=review_ids[1], resolution=pb.REVIEW_RESOLUTION_REFUSED, expected_version=1))
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(bad) == {"note": "is required when refusing"}
    not_moved = rpc_error(community.ResolveRegistrationReview,
                          pb.ResolveRegistrationReviewRequest(
                              review_id=review_ids[1],
                              resolution=pb.REVIEW_RESOLUTION_REACTIVATED, expected_version=1))
    assert not_moved.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "archived as moved out" in not_moved.details()
    stale = rpc_error(community.ResolveRegistrationReview, pb.ResolveRegistrationReviewRequest(
        review_id=review_ids[0], resolution=pb.REVIEW_RESOLUTION_REACTIVATED,
        expected_version=7))
    assert stale.code() == grpc.StatusCode.FAILED_PRECONDITION and "stale" in stale.details()

    # Reactivated: the same record, now in the household the worker named.
    done = community.ResolveRegistrationReview(pb.ResolveRegistrationReviewRequest(
        review_id=review_ids[0], resolution=pb.REVIEW_RESOLUTION_REACTIVATED,
        expected_version=1))
    assert (done.resolution, done.resolved_by, done.version) == (
        pb.REVIEW_RESOLUTION_REACTIVATED, "cw-1", 2)
    assert done.HasField("resolved_at")
    back = gw1.GetPerson(pb.GetPersonRequest(person_id=archived.person_id))
    assert (back.status, back.household_id, back.jurisdiction_path) == (
        pb.PERSON_STATUS_ACTIVE, home.household_id, tree.grid_paths[1])
    again = rpc_error(community.ResolveRegistrationReview, pb.ResolveRegistrationReviewRequest(
        review_id=review_ids[0], resolution=pb.REVIEW_RESOLUTION_REFUSED, note="x",
        expected_version=2))
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION
    refused = community.ResolveRegistrationReview(pb.ResolveRegistrationReviewRequest(
        review_id=review_ids[1], resolution=pb.REVIEW_RESOLUTION_REFUSED,
        note="仍住在原网格，未迁入", expected_version=1))
    assert refused.resolution == pb.REVIEW_RESOLUTION_REFUSED
    assert tree.admin.GetPerson(pb.GetPersonRequest(
        person_id=active.person_id)).jurisdiction_path == tree.grid_paths[0]
    assert list(community.ListRegistrationReviews(
        pb.ListRegistrationReviewsRequest()).reviews) == []
    assert len(community.ListRegistrationReviews(
        pb.ListRegistrationReviewsRequest(include_resolved=True)).reviews) == 2


def test_the_review_list_is_refused_to_roles_without_the_permission(
        tree: Tree, stack: devstack.Stack) -> None:
    for role in ("grid_worker", "family_doctor", "service", "auditor"):
        s = stub(tree.addr, token(role, [tree.community_path]))
        assert rpc_error(s.ListRegistrationReviews, pb.ListRegistrationReviewsRequest()
                         ).code() == grpc.StatusCode.PERMISSION_DENIED, role


def test_a_review_outside_the_callers_jurisdictions_or_unknown_is_refused(
        tree: Tree) -> None:
    held = tree.register()
    answer = rpc_error(tree.worker(1).RegisterPerson, pb.RegisterPersonRequest(
        person=person(tree.household(1).household_id, resident_id=held.resident_id)))
    review_id = answer.details().rsplit(" ", 1)[-1]
    elsewhere = stub(tree.addr, token("community_worker", ["/Tother/"]))
    resolve = pb.ResolveRegistrationReviewRequest(
        review_id=review_id, resolution=pb.REVIEW_RESOLUTION_REFUSED, note="x",
        expected_version=1)
    assert rpc_error(elsewhere.ResolveRegistrationReview, resolve
                     ).code() == grpc.StatusCode.PERMISSION_DENIED
    community = stub(tree.addr, token("community_worker", [tree.community_path]))
    unknown = rpc_error(community.ResolveRegistrationReview, pb.ResolveRegistrationReviewRequest(
        review_id="00000000-0000-4000-8000-000000000000",
        resolution=pb.REVIEW_RESOLUTION_REFUSED, note="x", expected_version=1))
    assert unknown.code() == grpc.StatusCode.NOT_FOUND
    bad = rpc_error(community.ResolveRegistrationReview, pb.ResolveRegistrationReviewRequest(
        review_id="nope", resolution=pb.REVIEW_RESOLUTION_UNSPECIFIED, note="y" * 501))
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(bad) == {
        "review_id": "must be a UUID",
        "resolution": "must be REVIEW_RESOLUTION_REACTIVATED or REVIEW_RESOLUTION_REFUSED",
        "note": "at most 500 characters"}
    # Nothing changed: the review is still open, at its first version.
    [still] = [r for r in community.ListRegistrationReviews(
        pb.ListRegistrationReviewsRequest()).reviews if r.review_id == review_id]
    assert (still.resolution, still.version) == (pb.REVIEW_RESOLUTION_UNSPECIFIED, 1)
