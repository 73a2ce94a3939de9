"""Listing the 30-minute loop's requests (ListRequests) on the real services: newest first, open
ones unless resolved ones are asked for, cursor pages that cover everything once, only the
caller's jurisdictions, bad input named by field."""

from __future__ import annotations

import grpc

import devstack
from cdsp.aid.v1 import aid_pb2 as pb
from cdsp.aid.v1 import aid_pb2_grpc
from tests.aid_helpers import aid_admin, aid_stub, wait_projected
from tests.helpers import Tree, rpc_error, token, violations

Api = aid_pb2_grpc.AidServiceStub


def _worker(tree: Tree, addr: str, grid: int = 0, role: str = "grid_worker") -> Api:
    return aid_stub(addr, token(role, [tree.grid_paths[grid]], subject=f"gw-{grid}"))


def _ids(api: Api, **request: object) -> list[str]:
    reply = api.ListRequests(pb.ListRequestsRequest(**request))  # type: ignore[arg-type]
    return [r.request_id for r in reply.requests]


def test_open_requests_newest_first_in_pages_and_resolved_on_request(
        tree: Tree, aid: str, stack: devstack.Stack) -> None:
    people = [tree.register(tree.household(grid)).person_id for grid in (0, 0, 1)]
    wait_projected(stack.database_url("aid"), people)
    api = aid_admin(tree, aid)
    made = [api.SubmitRequest(pb.SubmitRequestRequest(person_id=p, description=f"求助{n}"))
            for n, p in enumerate(people)]
    newest_first = [r.request_id for r in reversed(made)]
    assert _ids(api, jurisdiction_path=tree.city_path) == newest_first
    listed = api.ListRequests(pb.ListRequestsRequest(jurisdiction_path=tree.city_path))
    assert listed.requests[-1] == made[0] and listed.next_page_token == ""

    first = api.ListRequests(pb.ListRequestsRequest(jurisdiction_path=tree.city_path,
                                                    page_size=2))
    assert [r.request_id for r in first.requests] == newest_first[:2]
    second = api.ListRequests(pb.ListRequestsRequest(
        jurisdiction_path=tree.city_path, page_size=2, page_token=first.next_page_token))
    assert [r.request_id for r in second.requests] == newest_first[2:]
    assert second.next_page_token == ""

    done = made[0].request_id
    api.DispatchRequest(pb.DispatchRequestRequest(request_id=done, team="网格一队"))
    api.RecordArrival(pb.RecordArrivalRequest(request_id=done))
    api.ResolveRequest(pb.ResolveRequestRequest(request_id=done, result="已解决"))
    assert done not in _ids(api, jurisdiction_path=tree.city_path)
    assert _ids(api, jurisdiction_path=tree.city_path, include_resolved=True) == newest_first

    # A grid worker lists their own grid's (empty path: all of their jurisdictions).
    mine = _worker(tree, aid)
    assert _ids(mine, include_resolved=True) == [made[1].request_id, done]
    doctor = _worker(tree, aid, grid=1, role="family_doctor")  # reads too
    assert _ids(doctor) == [made[2].request_id]


def test_outside_bad_input_and_roles_are_refused(tree: Tree, aid: str) -> None:
    mine = _worker(tree, aid)
    outside = rpc_error(mine.ListRequests, pb.ListRequestsRequest(
        jurisdiction_path=tree.grid_paths[1]))
    assert outside.code() == grpc.StatusCode.PERMISSION_DENIED
    for request, field in (({"jurisdiction_path": "bad"}, "jurisdiction_path"),
                           ({"page_size": 501}, "page_size"),
                           ({"page_token": "%%%"}, "page_token")):
        exc = rpc_error(mine.ListRequests, pb.ListRequestsRequest(**request))  # type: ignore[arg-type]
        assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT and field in violations(exc)
    volunteer = _worker(tree, aid, role="volunteer")
    assert rpc_error(volunteer.ListRequests, pb.ListRequestsRequest()).code() == \
        grpc.StatusCode.PERMISSION_DENIED
