"""The role matrix on the running services: a role without a method's permission is refused
before the handler runs (nothing changes); a resident reads only their own record and notices, a
guardian only their wards'; a worker sets only their own notice contact, an administrator those of
the workers in their jurisdictions; the service role writes nothing and reads no inbox."""

from __future__ import annotations

import uuid

import grpc

import devstack
from cdsp.employment.v1 import employment_pb2 as epb
from cdsp.events.v1 import aid_pb2 as aev
from cdsp.notification.v1 import notification_pb2 as npb
from cdsp.registry.v1 import registry_pb2 as pb
from tests.employment_helpers import employment_stub, scores
from tests.helpers import Tree, rpc_error, stub, token
from tests.notification_helpers import AidEvents, ServiceDb, notify_stub, wait_until

DENIED = grpc.StatusCode.PERMISSION_DENIED


def test_a_role_without_the_permission_is_refused_before_the_handler(
        tree: Tree, stack: devstack.Stack, employment: str) -> None:
    person = tree.register(tree.household(), needs=[pb.Need(code="employment")])
    db = ServiceDb(stack.database_url("employment"))
    wait_until(lambda: db.rows("SELECT 1 FROM candidates WHERE person_id = %s",
                               [person.person_id]), "projected into employment")
    service = employment_stub(employment, token("service", [tree.city_path]))
    refused = rpc_error(service.RecordAssessment, epb.RecordAssessmentRequest(
        person_id=person.person_id, scores=scores()))
    assert refused.code() == DENIED and "RecordAssessment" in refused.details()
    assert db.rows("SELECT count(*) FROM assessments WHERE person_id = %s",
                   [person.person_id]) == [(0,)]   # the handler never ran
    auditor = stub(tree.addr, token("auditor", [tree.city_path]))
    assert rpc_error(auditor.GetPerson, pb.GetPersonRequest(
        person_id=person.person_id)).code() == DENIED


def test_a_resident_reads_their_own_record_and_a_guardian_their_wards(tree: Tree) -> None:
    household = tree.household()
    me, sister, stranger = (tree.register(household) for _ in range(3))
    scope = [tree.grid_paths[0]]
    resident = stub(tree.addr, token("resident", scope, subject="r-1", person_id=me.person_id))
    assert resident.GetPerson(pb.GetPersonRequest(person_id=me.person_id)).name == me.name
    refused = rpc_error(resident.GetPerson, pb.GetPersonRequest(person_id=sister.person_id))
    assert refused.code() == DENIED and "their own record" in refused.details()
    assert rpc_error(resident.ListPersons, pb.ListPersonsRequest()).code() == DENIED
    guardian = stub(tree.addr, token("guardian", scope, subject="g-1",
                                     wards=(me.person_id, sister.person_id)))
    for ward in (me, sister):
        assert guardian.GetPerson(pb.GetPersonRequest(person_id=ward.person_id)).person_id
    assert rpc_error(guardian.GetPerson, pb.GetPersonRequest(
        person_id=stranger.person_id)).code() == DENIED
    assert rpc_error(guardian.UpdatePerson, pb.UpdatePersonRequest(
        person=pb.Person(person_id=me.person_id, phone="13700001111"),
        expected_version=1)).code() == DENIED


def test_a_resident_reads_only_their_own_notices(
        tree: Tree, stack: devstack.Stack, notification: str, aid_events: AidEvents) -> None:
    me, other = tree.register(tree.household()), tree.register(tree.household())
    db = ServiceDb(stack.database_url("notification"))
    db.wait_recipients([me.person_id, other.person_id])
    events = {}
    for p in (me, other):
        events[p.person_id] = aid_events.publish(aev.RequestDispatched(
            request_id=str(uuid.uuid4()), team="一组", person_id=p.person_id),
            tree.grid_paths[0], str(uuid.uuid4()))
    wait_until(lambda: all(db.notices(e) for e in events.values()), "both residents' notices")
    notices = {pid: db.rows("SELECT notice_id::text FROM notices WHERE source_event_id = %s "
                            "AND recipient_kind = 'resident'", [e])[0][0]
               for pid, e in events.items()}
    mine = notify_stub(notification, token("resident", [tree.grid_paths[0]], subject="r-1",
                                           person_id=me.person_id))
    assert mine.GetNotice(npb.GetNoticeRequest(notice_id=notices[me.person_id])).notice_id
    assert rpc_error(mine.GetNotice, npb.GetNoticeRequest(
        notice_id=notices[other.person_id])).code() == DENIED
    assert rpc_error(mine.ListInbox, npb.ListInboxRequest(
        recipient_id=other.person_id)).code() == DENIED
    assert rpc_error(mine.ListNotices, npb.ListNoticesRequest()).code() == DENIED
    service = notify_stub(notification, token("service", [tree.city_path]))
    assert rpc_error(service.ListInbox, npb.ListInboxRequest(
        recipient_id=me.person_id)).code() == DENIED


def test_a_worker_sets_only_their_own_contact(tree: Tree, notification: str) -> None:
    grid = tree.grid_paths[0]

    def contact(who: str, role: str, scope: str, recipient: str, email: str) -> object:
        api = notify_stub(notification, token(role, [scope], subject=who))
        return api.SetWorkerContact(npb.SetWorkerContactRequest(
            recipient_id=recipient, jurisdiction_path=grid, email=email))

    alice, bob = f"gw-{uuid.uuid4().hex[:6]}", f"cw-{uuid.uuid4().hex[:6]}"
    assert contact(alice, "grid_worker", grid, alice, "alice@example.org")
    # The bug the issue names: a community worker redirected another worker's e-mails.
    refused = rpc_error(contact, bob, "community_worker", tree.community_path, alice,
                        "bob@example.org")
    assert refused.code() == DENIED and "only their own notice contact" in refused.details()
    # An administrator in whose jurisdictions the contact is filed may correct it.
    assert contact("admin-1", "street_admin", tree.community_path, alice, "alice2@example.org")
    # ... one elsewhere may not, even by filing it under a path of their own.
    elsewhere = notify_stub(notification, token("city_admin", ["/Tother/"], subject="x"))
    outside = rpc_error(elsewhere.SetWorkerContact, npb.SetWorkerContactRequest(
        recipient_id=alice, jurisdiction_path="/Tother/", email="evil@example.org"))
    assert outside.code() == DENIED
    grid_worker = notify_stub(notification, token("grid_worker", [grid], subject=alice))
    assert rpc_error(grid_worker.SetWorkerContact, npb.SetWorkerContactRequest(
        recipient_id=grid, jurisdiction_path=grid, email="team@example.org")).code() == DENIED
    assert contact("cw-2", "community_worker", tree.community_path, grid, "team@example.org")
