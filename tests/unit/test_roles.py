"""The role matrix (runtime.roles): every method every service serves has a permission, the
README shows the matrix as the code has it, and the refusals name the role and the method."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cdsp.aid.v1 import aid_pb2
from cdsp.audit.v1 import audit_pb2
from cdsp.employment.v1 import employment_pb2
from cdsp.notification.v1 import notification_pb2
from cdsp.partner.v1 import partner_pb2
from cdsp.registry.v1 import registry_pb2
from cdsp.volunteer.v1 import volunteer_pb2
from runtime import roles
from runtime.auth import ROLES, Caller
from runtime.errors import PermissionDenied

ROOT = Path(__file__).resolve().parents[2]
SERVICES = [(registry_pb2, "RegistryService"), (aid_pb2, "AidService"),
            (employment_pb2, "EmploymentService"), (volunteer_pb2, "VolunteerService"),
            (notification_pb2, "NotificationService"),
            (partner_pb2, "PartnerAdminService"),
            (audit_pb2, "AuditService")]  # served by every service (runtime.audit_api)


def served() -> set[str]:
    return {f"/{s.full_name}/{m.name}" for module, name in SERVICES
            for s in [module.DESCRIPTOR.services_by_name[name]] for m in s.methods}


def test_every_served_method_has_a_permission_and_none_is_left_over() -> None:
    assert set(roles.METHODS) == served()


def test_every_permission_names_known_roles_and_is_used() -> None:
    for service, permissions in roles.PERMISSIONS.items():
        for permission, granted in permissions.items():
            assert set(granted) <= ROLES, (service, permission)
            assert len(granted) == len(set(granted)), (service, permission)
    for rule in roles.METHODS.values():
        assert rule.permission in roles.PERMISSIONS[rule.service]


def test_the_readme_shows_the_matrix_as_the_code_has_it() -> None:
    readme = (ROOT / "README.md").read_text()
    assert roles.markdown() in readme, "run `python -m runtime.roles` and paste it into README"


def caller(role: str) -> Caller:
    return Caller("w", role, ("/3505/",))


@pytest.mark.parametrize(("role", "method", "allowed"), [
    ("grid_worker", "/cdsp.registry.v1.RegistryService/RegisterPerson", True),
    ("family_doctor", "/cdsp.registry.v1.RegistryService/RegisterPerson", False),
    ("resident", "/cdsp.registry.v1.RegistryService/GetPerson", True),
    ("resident", "/cdsp.registry.v1.RegistryService/ListPersons", False),
    ("guardian", "/cdsp.notification.v1.NotificationService/StreamInbox", True),
    # the drift the matrix ends: the service role no longer writes or administers anything
    ("service", "/cdsp.employment.v1.EmploymentService/Enrol", False),
    ("service", "/cdsp.employment.v1.EmploymentService/RecordAssessment", False),
    ("service", "/cdsp.notification.v1.NotificationService/RegisterWebhook", False),
    ("service", "/cdsp.notification.v1.NotificationService/ListInbox", False),
    ("service", "/cdsp.notification.v1.NotificationService/LinkApp", False),
    ("service", "/cdsp.aid.v1.AidService/GetCase", True),
    ("grid_worker", "/cdsp.aid.v1.AidService/GrantRelief", False),
    ("community_worker", "/cdsp.aid.v1.AidService/GrantRelief", True),
    ("volunteer", "/cdsp.volunteer.v1.VolunteerService/LogVisit", True),
    ("volunteer", "/cdsp.registry.v1.RegistryService/GetPerson", False),
    ("auditor", "/cdsp.registry.v1.RegistryService/GetPerson", False),
    ("subscriber", "/cdsp.aid.v1.AidService/GetCase", False),
    ("auditor", "/cdsp.audit.v1.AuditService/SearchAudit", True),
    ("city_admin", "/cdsp.audit.v1.AuditService/SearchAudit", False),
    ("district_admin", "/cdsp.partner.v1.PartnerAdminService/RegisterSubscriber", True),
    ("street_admin", "/cdsp.partner.v1.PartnerAdminService/RegisterSubscriber", False),
    ("subscriber", "/cdsp.partner.v1.PartnerAdminService/ListSubscribers", False),
    ("service", "/cdsp.partner.v1.PartnerAdminService/GetSubscriber", False),
])
def test_require(role: str, method: str, allowed: bool) -> None:
    if allowed:
        assert roles.require(caller(role), method).service
    else:
        with pytest.raises(PermissionDenied, match=re.escape(method.rsplit("/", 1)[-1])):
            roles.require(caller(role), method)


def test_a_method_missing_from_the_matrix_is_refused_for_everyone() -> None:
    with pytest.raises(PermissionDenied, match="no permission in the role matrix"):
        roles.require(caller("city_admin"), "/cdsp.registry.v1.RegistryService/DropEverything")
