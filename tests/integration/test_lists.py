"""Lists with filters and cursor pages, overdue verifications, certificates due, statistics."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import psycopg
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp

from cdsp.common.v1 import common_pb2 as common
from cdsp.events.v1 import registry_pb2 as ev
from cdsp.registry.v1 import registry_pb2 as pb
from registry.domain.resident_id import birthday, born_by
from tests.helpers import (
    Tree,
    age_record,
    baby,
    resident_id,
    rpc_error,
    stub,
    token,
    violations,
    years_ago,
)

TZ = ZoneInfo("Asia/Shanghai")  # the service's local time zone (CDSP_LOCAL_TZ's default)


def test_cursor_pages_cover_everything_once(tree: Tree) -> None:
    household = tree.household()
    ids = {tree.register(household).person_id for _ in range(23)}
    seen: list[str] = []
    page_token = ""
    pages = 0
    while True:
        page = tree.admin.ListPersons(pb.ListPersonsRequest(
            jurisdiction_path=tree.community_path, page_size=10, page_token=page_token))
        pages += 1
        seen += [p.person_id for p in page.persons]
        page_token = page.next_page_token
        if not page_token:
            break
    assert pages == 3 and len(seen) == 23 and set(seen) == ids
    exact = tree.admin.ListPersons(pb.ListPersonsRequest(jurisdiction_path=tree.community_path,
                                                         page_size=23))
    assert len(exact.persons) == 23 and exact.next_page_token == ""  # no empty extra page
    bad = rpc_error(tree.admin.ListPersons, pb.ListPersonsRequest(page_token="%%%"))
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and "page_token" in violations(bad)
    too_big = rpc_error(tree.admin.ListPersons, pb.ListPersonsRequest(page_size=501))
    assert "page_size" in violations(too_big)


def test_filters(tree: Tree) -> None:
    h = tree.household()
    visual = tree.register(h, category=common.DISABILITY_CATEGORY_VISUAL, grade=1)
    alone = tree.register(h, resident_id=resident_id(years_ago(70)),
                          living_situation=pb.LIVING_SITUATION_ALONE,
                          needs=[pb.Need(code="home_care")])
    ill = tree.register(h, priority_groups=["seriously_ill"])
    baby = tree.register(h, resident_id=resident_id(years_ago(1)), certified=False, grade=0)

    def ids(**f: object) -> set[str]:
        req = pb.ListPersonsRequest(jurisdiction_path=tree.community_path, **f)  # type: ignore[arg-type]
        return {p.person_id for p in tree.admin.ListPersons(req).persons}

    assert ids(category=common.DISABILITY_CATEGORY_VISUAL) == {visual.person_id}
    assert ids(category=common.DISABILITY_CATEGORY_VISUAL, grade=2) == set()
    assert ids(living_alone=True) == {alone.person_id}
    assert ids(need_code="home_care") == {alone.person_id}
    assert ids(priority_group="seriously_ill") == {ill.person_id}
    assert ids(priority_group="elderly_living_alone") == {alone.person_id}
    assert ids(certified=False) == {baby.person_id}
    assert len(ids(certified=True)) == 3


def test_overdue_verifications(tree: Tree) -> None:
    p = tree.register()
    q = tree.register()

    def overdue(as_of: datetime) -> set[str]:
        ts = Timestamp()
        ts.FromDatetime(as_of)
        return {x.person_id for x in tree.admin.ListOverdueVerifications(
            pb.ListOverdueVerificationsRequest(jurisdiction_path=tree.community_path,
                                               as_of=ts)).persons}

    now = datetime.now(UTC)
    assert overdue(now) == set()  # registration is this month's check
    in_two_months = now + timedelta(days=62)
    assert overdue(in_two_months) == {p.person_id, q.person_id}
    verified = tree.worker(0).RecordVerification(pb.RecordVerificationRequest(
        person_id=p.person_id, note="月度核查"))
    assert verified.version == 2 and verified.service_history[0].kind == "verification"
    future = Timestamp()
    future.FromDatetime(now + timedelta(days=1))
    exc = rpc_error(tree.admin.RecordVerification, pb.RecordVerificationRequest(
        person_id=p.person_id, verified_at=future))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT and "verified_at" in violations(exc)


def test_statistics(tree: Tree) -> None:
    h = tree.household()
    tree.register(h, category=common.DISABILITY_CATEGORY_VISUAL, grade=1)
    tree.register(h, category=common.DISABILITY_CATEGORY_VISUAL, grade=2)
    tree.register(h, category=common.DISABILITY_CATEGORY_MULTIPLE, grade=1,
                  living_situation=pb.LIVING_SITUATION_ALONE)
    tree.register(h, resident_id=resident_id(years_ago(1)), certified=False, grade=0)
    everything = tree.worker(0, role="community_worker").GetStatistics(pb.GetStatisticsRequest())
    assert everything.jurisdiction_path == tree.grid_paths[0] and everything.persons == 4
    stats = tree.admin.GetStatistics(pb.GetStatisticsRequest(
        jurisdiction_path=tree.community_path))
    assert (stats.persons, stats.certified, stats.uncertified, stats.living_alone) == (4, 3, 1, 1)
    assert {c.key: c.count for c in stats.by_category} == {"visual": 2, "multiple": 1,
                                                           "physical": 1}
    assert {c.key: c.count for c in stats.by_grade} == {"0": 1, "1": 2, "2": 1}
    groups = {c.key: c.count for c in stats.by_priority_group}
    assert groups["multiple_disabilities"] == 1 and groups["disabled_children"] == 1


def _at(moment: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(moment)
    return ts


def test_certification_due(tree: Tree, registry_db: psycopg.Connection) -> None:
    """Active children without a certificate who are 3 or older on the local date of as_of."""
    today = datetime.now(TZ).date()
    grown = baby(tree)
    age_record(registry_db, grown.person_id, born_by(today, 3) - timedelta(days=40))
    soon_born = born_by(today, 3) + timedelta(days=10)
    soon = baby(tree, born=soon_born)
    elsewhere = baby(tree, tree.household(1))
    age_record(registry_db, elsewhere.person_id, born_by(today, 3))  # 3 today
    tree.register()  # a certified adult is never listed

    def due(stub: Any = None, **request: Any) -> list[str]:
        reply = (stub or tree.admin).ListCertificationDue(pb.ListCertificationDueRequest(
            **{"jurisdiction_path": tree.city_path, **request}))
        return [p.person_id for p in reply.persons]

    assert set(due()) == {grown.person_id, elsewhere.person_id}
    assert due(tree.worker(0), jurisdiction_path="") == [grown.person_id]
    assert due(jurisdiction_path=tree.grid_paths[1]) == [elsewhere.person_id]
    third = datetime.combine(birthday(soon_born, 3), time(0), TZ)  # 00:00 local time
    assert soon.person_id in due(as_of=_at(third))
    assert soon.person_id not in due(as_of=_at(third - timedelta(seconds=1)))

    first = tree.admin.ListCertificationDue(pb.ListCertificationDueRequest(
        jurisdiction_path=tree.city_path, page_size=1))
    second = tree.admin.ListCertificationDue(pb.ListCertificationDueRequest(
        jurisdiction_path=tree.city_path, page_size=1, page_token=first.next_page_token))
    assert {first.persons[0].person_id, second.persons[0].person_id} == set(due())
    assert second.next_page_token == ""
    doctor = stub(tree.addr, token("family_doctor", [tree.city_path]))
    masked = doctor.ListCertificationDue(pb.ListCertificationDueRequest()).persons
    assert masked and all(p.resident_id[6:17] == "*" * 11 for p in masked)

    for request, code, field in (
            ({"jurisdiction_path": "bad"}, grpc.StatusCode.INVALID_ARGUMENT,
             "jurisdiction_path"),
            ({"page_size": 501}, grpc.StatusCode.INVALID_ARGUMENT, "page_size"),
            ({"page_token": "%%%"}, grpc.StatusCode.INVALID_ARGUMENT, "page_token")):
        exc = rpc_error(tree.admin.ListCertificationDue,
                        pb.ListCertificationDueRequest(**request))
        assert exc.code() == code and field in violations(exc)
    outside = rpc_error(tree.worker(0).ListCertificationDue, pb.ListCertificationDueRequest(
        jurisdiction_path=tree.grid_paths[1]))
    assert outside.code() == grpc.StatusCode.PERMISSION_DENIED
    volunteer = stub(tree.addr, token("volunteer", [tree.city_path]))
    assert rpc_error(volunteer.ListCertificationDue, pb.ListCertificationDueRequest(
        )).code() == grpc.StatusCode.PERMISSION_DENIED

    # Becoming certified ends it; so does an archive.
    tree.admin.UpdatePerson(pb.UpdatePersonRequest(
        person=pb.Person(person_id=grown.person_id, certified=True, grade=3),
        update_mask=FieldMask(paths=["certified", "grade"]), expected_version=1))
    tree.admin.ArchivePerson(pb.ArchivePersonRequest(
        person_id=elsewhere.person_id, reason=ev.ARCHIVE_REASON_MOVED_OUT, expected_version=1))
    assert due() == []
