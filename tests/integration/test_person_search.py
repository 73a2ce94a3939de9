"""Searching the persons list (ListPersonsRequest.query): part of a name, or a whole resident ID
matched exactly through the blind index, always inside the caller's jurisdictions."""

from __future__ import annotations

import grpc

from cdsp.common.v1 import common_pb2 as common
from cdsp.registry.v1 import registry_pb2 as pb
from tests.helpers import Tree, resident_id, rpc_error, violations, years_ago


def _found(stub: object, tree: Tree, query: str, **filters: object) -> set[str]:
    request = pb.ListPersonsRequest(query=query, **filters)  # type: ignore[arg-type]
    return {p.person_id for p in stub.ListPersons(request).persons}  # type: ignore[attr-defined]


def test_part_of_a_name_finds_the_persons_of_the_callers_jurisdictions(tree: Tree) -> None:
    h0, h1 = tree.household(0), tree.household(1)
    zhang = tree.register(h0, name="张三丰")
    zhang2 = tree.register(h1, name="张小三")
    li = tree.register(h0, name="李四", category=common.DISABILITY_CATEGORY_VISUAL, grade=1)
    assert _found(tree.admin, tree, "三", jurisdiction_path=tree.community_path) == {
        zhang.person_id, zhang2.person_id}
    assert _found(tree.admin, tree, " 李四 ", jurisdiction_path=tree.community_path) == {
        li.person_id}
    # Combined with the other filters.
    assert _found(tree.admin, tree, "张", jurisdiction_path=tree.community_path,
                  category=common.DISABILITY_CATEGORY_VISUAL) == set()
    # The worker of grid 0 finds only grid 0's.
    assert _found(tree.worker(0), tree, "张") == {zhang.person_id}
    assert _found(tree.worker(1), tree, "张三丰") == set()


def test_percent_underscore_and_backslash_are_taken_literally(tree: Tree) -> None:
    h = tree.household()
    plain = tree.register(h, name="王明")
    odd = tree.register(h, name="王_明%\\")
    scope = {"jurisdiction_path": tree.community_path}
    assert _found(tree.admin, tree, "_", **scope) == {odd.person_id}
    assert _found(tree.admin, tree, "%", **scope) == {odd.person_id}
    assert _found(tree.admin, tree, "王%明", **scope) == set()
    assert _found(tree.admin, tree, "\\", **scope) == {odd.person_id}
    assert _found(tree.admin, tree, "王", **scope) == {plain.person_id, odd.person_id}


def test_a_whole_resident_id_is_matched_exactly_through_the_index(tree: Tree) -> None:
    h0, h1 = tree.household(0), tree.household(1)
    # One ending in X (its check character), to show the X is matched whatever its case.
    number = next(n for n in (resident_id(years_ago(45)) for _ in range(500)) if n.endswith("X"))
    holder = tree.register(h0, resident_id=number)
    other = tree.register(h1)
    assert _found(tree.admin, tree, number, jurisdiction_path=tree.community_path) == {
        holder.person_id}
    assert _found(tree.admin, tree, number.lower()) == {holder.person_id}  # x as X
    assert _found(tree.admin, tree, f"  {number} ") == {holder.person_id}
    # No substring search on resident IDs: a part of one finds nothing (names have no digits).
    assert _found(tree.admin, tree, number[:10], jurisdiction_path=tree.community_path) == set()
    assert _found(tree.admin, tree, number[2:], jurisdiction_path=tree.community_path) == set()
    # Another grid's worker does not learn that the number is filed anywhere.
    assert _found(tree.worker(1), tree, number) == set()
    assert _found(tree.worker(1), tree, other.resident_id) == {other.person_id}
    # An archived person is found only when archived ones are asked for.
    tree.admin.ArchivePerson(pb.ArchivePersonRequest(person_id=holder.person_id, reason=1,
                                                     expected_version=holder.version))
    assert _found(tree.admin, tree, number) == set()
    assert _found(tree.admin, tree, number, include_archived=True) == {holder.person_id}


def test_a_query_longer_than_50_characters_is_refused(tree: Tree) -> None:
    assert _found(tree.admin, tree, "名" * 50, jurisdiction_path=tree.community_path) == set()
    exc = rpc_error(tree.admin.ListPersons, pb.ListPersonsRequest(query="名" * 51))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(exc) == {"query": "at most 50 characters"}
