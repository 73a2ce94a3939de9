"""The audit log on the running services: every call the role matrix marks as personal leaves a
record (whatever its outcome), an auditor finds a grid worker's read of a person, the records go
to cdsp.audit.v1, the serving role cannot change or delete them before their retention, no free
text is copied into them, and a city admin's break-glass read is recorded with its reason and
announced to the jurisdiction read."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any
from urllib.parse import quote

import grpc
import psycopg
import pytest
from google.protobuf import descriptor_pool, symbol_database

import cdsp.aid.v1.aid_pb2
import cdsp.employment.v1.employment_pb2
import cdsp.notification.v1.notification_pb2
import cdsp.volunteer.v1.volunteer_pb2  # noqa: F401  (their services and messages in the pool)
import devstack
from cdsp.audit.v1 import audit_pb2 as apb
from cdsp.audit.v1 import audit_pb2_grpc
from cdsp.events.v1 import audit_pb2 as aev
from cdsp.registry.v1 import registry_pb2 as pb
from cdsp.registry.v1 import registry_pb2_grpc
from runtime import roles
from runtime.events import unpack_payload
from runtime.grpc_client import sync_channel
from tests.events import TopicReader
from tests.helpers import Tree, rpc_error, stub, token, violations
from tests.notification_helpers import ServiceDb, wait_until

SERVICES = ("registry", "aid", "employment", "volunteer", "notification")


def audit_stub(addr: str, scopes: list[str]) -> audit_pb2_grpc.AuditServiceStub:
    return audit_pb2_grpc.AuditServiceStub(sync_channel(addr, token("auditor", scopes,
                                                                    subject="auditor-1")))


def _rows(stack: devstack.Stack, service: str, request_id: str) -> list[tuple[Any, ...]]:
    return ServiceDb(stack.database_url(service)).rows(
        "SELECT method, subject, role, outcome, records, filter, row_count, break_glass_reason "
        "FROM audit_log WHERE request_id = %s ORDER BY id", [request_id])


def _call(addr: str, method: str, tok: str, request_id: str) -> None:
    """Calls `method` (its full name) with an empty request; whatever it answers."""
    descriptor = descriptor_pool.Default().FindMethodByName(method.strip("/").replace("/", "."))
    request_type = symbol_database.Default().GetSymbol(descriptor.input_type.full_name)
    metadata = (("authorization", f"Bearer {tok}"), ("x-request-id", request_id))
    with grpc.insecure_channel(addr) as channel:
        if descriptor.server_streaming:
            stream = channel.unary_stream(method, request_serializer=request_type.SerializeToString,
                                          response_deserializer=lambda b: b)
            with contextlib.suppress(grpc.RpcError):
                for _ in stream(request_type(), metadata=metadata, timeout=1.0):
                    break
        else:
            unary = channel.unary_unary(method, request_serializer=request_type.SerializeToString,
                                        response_deserializer=lambda b: b)
            with contextlib.suppress(grpc.RpcError):
                unary(request_type(), metadata=metadata, timeout=10)


def test_every_personal_method_leaves_a_record(stack: devstack.Stack, registry: str, aid: str,
                                                employment: str, volunteer: str,
                                                notification: str) -> None:
    """The methods the role matrix marks as personal, each called once on its service (the
    audit search on every service), whatever the call answers: each leaves its record."""
    admin = token("city_admin", ["/Taudit/"], subject="audit-admin")
    auditor = token("auditor", ["/Taudit/"], subject="auditor-1")
    calls: list[tuple[str, str, str]] = []
    for method, rule in roles.METHODS.items():
        if not rule.personal:
            continue
        targets = list(SERVICES) if rule.service == "audit" else [rule.service]
        for service in targets:
            rid = f"audit-{uuid.uuid4().hex}"
            _call(stack.grpc_addr(service), method,
                  auditor if rule.service == "audit" else admin, rid)
            calls.append((service, method, rid))
    missing = []
    for service, method, rid in calls:
        found = _rows(stack, service, rid)
        if [r[0] for r in found] != [method]:
            missing.append((service, method, found))
    assert not missing, f"calls without their audit record: {missing}"
    assert len(calls) >= 70   # every personal method of the five services, and 5 searches


def test_an_auditor_finds_a_grid_worker_s_read(tree: Tree, stack: devstack.Stack) -> None:
    person = tree.register(tree.household(), name="审计测试")
    worker_token = token("grid_worker", [tree.grid_paths[0]], subject="gw-audit")
    rid = f"read-{uuid.uuid4().hex}"
    registry_pb2_grpc.RegistryServiceStub(sync_channel(tree.addr, worker_token)).GetPerson(
        pb.GetPersonRequest(person_id=person.person_id), metadata=(("x-request-id", rid),))
    auditor = audit_stub(tree.addr, [tree.city_path])
    found = auditor.SearchAudit(apb.SearchAuditRequest(record=f"person:{person.person_id}"))
    reads = [e for e in found.entries if e.request_id == rid]
    assert len(reads) == 1
    read = reads[0]
    assert (read.method, read.subject, read.role, read.outcome, read.row_count) == (
        "/cdsp.registry.v1.RegistryService/GetPerson", "gw-audit", "grid_worker", "OK", 1)
    assert read.issuer == "cdsp" and read.service == "registry"
    assert f"person:{person.person_id}" in read.records
    assert f"household:{person.household_id}" in read.records
    # The same by actor, and a bare id, and in a period.
    by_actor = auditor.SearchAudit(apb.SearchAuditRequest(subject="gw-audit"))
    assert rid in [e.request_id for e in by_actor.entries]
    bare = auditor.SearchAudit(apb.SearchAuditRequest(record=person.person_id,
                                                      method="GetPerson"))
    assert [e.request_id for e in bare.entries] == [rid]
    # Its registration is there too, and no name or other typed text is in any of them.
    assert any(e.method.endswith("/RegisterPerson") for e in found.entries)
    raw = b"".join(e.SerializeToString() for e in found.entries)
    assert "审计测试".encode() not in raw and person.resident_id.encode() not in raw
    # Refusals: only auditors search; bad input names the field.
    assert rpc_error(audit_pb2_grpc.AuditServiceStub(sync_channel(
        tree.addr, token("city_admin", [tree.city_path]))).SearchAudit,
        apb.SearchAuditRequest()).code() == grpc.StatusCode.PERMISSION_DENIED
    bad = rpc_error(auditor.SearchAudit, apb.SearchAuditRequest(record="person:not-an-id",
                                                                page_token="!!"))
    assert set(violations(bad)) == {"record", "page_token"}
    # Published for the central store.
    reader = TopicReader(stack.kafka_bootstrap, "cdsp.audit.v1")
    try:
        envelopes = reader.wait_for(lambda es: any(
            isinstance(p := unpack_payload(e), aev.AuditRecorded) and p.request_id == rid
            for e in es), timeout=30)
    finally:
        reader.close()
    assert any(e.aggregate_type == "audit" for e in envelopes)


def test_the_serving_role_cannot_change_or_delete_a_record(stack: devstack.Stack,
                                                           registry: str) -> None:
    with psycopg.connect(stack.database_url("registry"), autocommit=True) as conn:
        rid = f"tamper-{uuid.uuid4().hex}"
        conn.execute("INSERT INTO audit_log (method, subject, role, request_id, outcome) "
                     "VALUES ('m', 's', 'r', %s, 'OK')", [rid])
        conn.execute("INSERT INTO audit_log (at, method, subject, role, request_id, outcome) "
                     "VALUES (now() - interval '200 days', 'm', 's', 'r', %s, 'OK')",
                     [rid + "-old"])
        changed = conn.execute("UPDATE audit_log SET subject = 'someone else' "
                               "WHERE request_id = %s", [rid]).rowcount
        deleted = conn.execute("DELETE FROM audit_log WHERE request_id = %s", [rid]).rowcount
        assert (changed, deleted) == (0, 0)
        expired = conn.execute("DELETE FROM audit_log WHERE request_id = %s",
                               [rid + "-old"]).rowcount
        assert expired == 1  # past the 6 months, the retention job may remove it


@pytest.mark.usefixtures("notification")
def test_break_glass_is_recorded_and_announced(tree: Tree, stack: devstack.Stack) -> None:
    person = tree.register(tree.household())
    elsewhere = ["/Tbreakglass/"]
    admin = stub(tree.addr, token("city_admin", elsewhere, subject="city-admin-9"))
    assert rpc_error(admin.GetPerson, pb.GetPersonRequest(
        person_id=person.person_id)).code() == grpc.StatusCode.PERMISSION_DENIED
    reason = "紧急情况：家属报告失联，需核实住址"
    rid = f"glass-{uuid.uuid4().hex}"
    read = admin.GetPerson(pb.GetPersonRequest(person_id=person.person_id),
                           metadata=(("x-cdsp-break-glass", quote(reason)),
                                     ("x-request-id", rid)))
    assert read.person_id == person.person_id
    [row] = _rows(stack, "registry", rid)
    assert row[7] == reason and row[3] == "OK"
    short = rpc_error(lambda r: admin.GetPerson(r, metadata=(("x-cdsp-break-glass", "why"),)),
                      pb.GetPersonRequest(person_id=person.person_id))
    assert violations(short) == {"x-cdsp-break-glass": "the reason: 10 to 500 characters"}
    worker = stub(tree.addr, token("grid_worker", elsewhere))
    refused = rpc_error(lambda r: worker.GetPerson(
        r, metadata=(("x-cdsp-break-glass", quote(reason)),)),
                        pb.GetPersonRequest(person_id=person.person_id))
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED
    # Announced to the jurisdiction read: the grid team's notice.
    db = ServiceDb(stack.database_url("notification"))
    notices = wait_until(lambda: db.rows(
        "SELECT recipient_kind, recipient_id, body FROM notices WHERE source_event_type = "
        "'cdsp.events.v1.BreakGlassUsed' AND recipient_id = %s", [tree.grid_paths[0]]),
        "the grid team's break-glass notice", timeout=60)
    assert any(reason in n[2] and "city-admin-9" in n[2] for n in notices)
