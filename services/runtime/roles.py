"""Who may do what: one role matrix for every service.

PERMISSIONS lists, per service, each permission and the roles it grants. METHODS names the
permission of every RPC of every service (and whether the call reads or changes personal data,
which the audit log records). The runtime's AuthInterceptor refuses a call whose caller's role
lacks the method's permission before the handler runs; a method missing here is refused for
everyone (deny by default), and a test checks that every method a service serves is listed. The
use cases keep the finer rules on top (jurisdictions, a volunteer logs only their own visits, a
resident reads only their own record, a guardian only their wards'), reading their role lists
from here (`granted`), so no service keeps a copy of its own.

`python -m runtime.roles` prints the matrix as the README's "Who may do what" table (a test keeps
the README equal to it).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace

from runtime.auth import ROLES, Caller
from runtime.errors import FieldViolation, InvalidArgument, PermissionDenied

ADMINS = ("street_admin", "district_admin", "city_admin")
MANAGERS = ("community_worker", "social_worker", *ADMINS)
WORKERS = ("grid_worker", *MANAGERS)
SELF = ("resident", "guardian")  # their own (their wards') records only

PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "registry": {
        "read": (*WORKERS, "family_doctor", "service"),
        "read_own": (*WORKERS, "family_doctor", "service", *SELF),
        "write": WORKERS,
        "administer": ADMINS,
        # Registrations of a resident ID filed elsewhere: those who cover both places decide.
        "review": ("community_worker", *ADMINS),
        # Not a method's permission: who sees resident ID and certificate numbers unmasked.
        "see_identity": WORKERS,
    },
    "aid": {
        "read": (*WORKERS, "family_doctor", "service"),
        "write": WORKERS,
        "relief": MANAGERS,
        "sickbed": (*WORKERS, "family_doctor"),
    },
    "employment": {
        "read": (*WORKERS, "service"),
        "write": WORKERS,
        "manage": MANAGERS,
    },
    "volunteer": {
        "read": (*WORKERS, "service"),
        "read_volunteer": (*WORKERS, "service", "volunteer", "family_doctor"),
        "write": WORKERS,
        "manage": MANAGERS,
        "visit": (*WORKERS, "volunteer", "family_doctor"),
    },
    "audit": {
        "read": ("auditor",),
    },
    "notification": {
        "read": (*WORKERS, "service"),
        "inbox": (*WORKERS, *SELF),
        "write": WORKERS,
        "contact": WORKERS,
        "administer": ADMINS,
    },
    "partner": {
        # Third parties' subscriptions: the city's and districts' administrators, each for
        # their own jurisdictions (a subscriber's subtree lies inside the admin's).
        "read": ("district_admin", "city_admin"),
        "administer": ("district_admin", "city_admin"),
    },
}


@dataclass(frozen=True)
class MethodRule:
    service: str
    permission: str
    personal: bool  # reads or changes personal data: the audit log records each call


def _methods(service: str, full_name: str, rules: dict[str, tuple[str, bool]]
             ) -> dict[str, MethodRule]:
    return {f"/{full_name}/{name}": MethodRule(service, permission, personal)
            for name, (permission, personal) in rules.items()}


# Each method: (its permission, whether it reads or changes personal data).
METHODS: dict[str, MethodRule] = {
    **_methods("registry", "cdsp.registry.v1.RegistryService", {
        "CreateJurisdiction": ("administer", False), "GetJurisdiction": ("read", False),
        "ListJurisdictions": ("read", False), "UpdateJurisdiction": ("administer", False),
        "CreateHousehold": ("write", True), "GetHousehold": ("read", True),
        "UpdateHousehold": ("write", True), "RegisterPerson": ("write", True),
        "GetPerson": ("read_own", True), "UpdatePerson": ("write", True),
        "ArchivePerson": ("write", True), "ReactivatePerson": ("write", True),
        "ListPersons": ("read", True), "RecordVerification": ("write", True),
        "ListOverdueVerifications": ("read", True), "ListCertificationDue": ("read", True),
        "AddServiceRecord": ("write", True), "GetStatistics": ("read", False),
        "ListRegistrationReviews": ("review", True),
        "ResolveRegistrationReview": ("review", True)}),
    **_methods("aid", "cdsp.aid.v1.AidService", {
        "ReportHardship": ("write", True), "GetCase": ("read", True), "ListCases": ("read", True),
        "ResolveCase": ("write", True), "CompleteCaseAction": ("write", True),
        "SubmitRequest": ("write", True), "DispatchRequest": ("write", True),
        "RecordArrival": ("write", True), "EscalateRequest": ("write", True),
        "ResolveRequest": ("write", True), "GetRequest": ("read", True),
        "ListRequests": ("read", True), "GetSlaCompliance": ("read", False),
        "GrantRelief": ("relief", True), "GetBudget": ("read", False),
        "ExportLedger": ("read", True),
        "ReplenishKit": ("write", False), "LendKit": ("write", True), "ReturnKit": ("write", True),
        "ConsumeKit": ("write", True), "ListKitStock": ("read", False),
        "RecordSickbedVisit": ("sickbed", True), "ListOverdueSickbedVisits": ("read", True)}),
    **_methods("employment", "cdsp.employment.v1.EmploymentService", {
        "GetCandidate": ("read", True), "RecordAssessment": ("write", True),
        "GetPlan": ("read", True),
        "OverridePlan": ("manage", True), "CreateCourse": ("manage", False),
        "GetCourse": ("read", False), "Enrol": ("write", True), "Withdraw": ("write", True),
        "RecordAttendance": ("write", True), "CompleteCourse": ("write", True),
        "ListEnrolments": ("read", True), "RegisterEmployer": ("manage", False),
        "CreatePost": ("manage", False), "MatchCandidates": ("read", True),
        "MatchPosts": ("read", True), "Place": ("manage", True), "EndPlacement": ("manage", True),
        "RecordFollowUp": ("write", True), "ListOverdueFollowUps": ("read", True),
        "GetSubsidiesOwed": ("manage", False), "AwardStartupGrant": ("manage", True),
        "RecordWorkshopSale": ("manage", False), "GetYearlyFigures": ("read", False)}),
    **_methods("volunteer", "cdsp.volunteer.v1.VolunteerService", {
        "RegisterVolunteer": ("write", True), "GetVolunteer": ("read_volunteer", True),
        "VerifyVolunteer": ("manage", True), "SetRiskColour": ("write", True),
        "GetCareSchedule": ("read_volunteer", True), "ProposePairings": ("read", True),
        "Pair": ("write", True), "EndPairing": ("write", True), "ListPairings": ("read", True),
        "LogVisit": ("visit", True), "ListMissedVisits": ("read", True),
        "GetServiceHours": ("read", True), "GetYearlySummary": ("read", False)}),
    **_methods("notification", "cdsp.notification.v1.NotificationService", {
        "ListInbox": ("inbox", True), "StreamInbox": ("inbox", True), "GetNotice": ("inbox", True),
        "RegisterWebhook": ("administer", False), "ListNotices": ("read", True),
        "GetDeliveryStats": ("read", False), "SetWorkerContact": ("contact", True),
        "LinkApp": ("write", True)}),
    **_methods("partner", "cdsp.partner.v1.PartnerAdminService", {
        "RegisterSubscriber": ("administer", False), "GetSubscriber": ("read", False),
        "ListSubscribers": ("read", False), "PauseSubscriber": ("administer", False),
        "ResumeSubscriber": ("administer", False), "RevokeSubscriber": ("administer", False),
        "RotateSecret": ("administer", False), "ListDeadLetters": ("read", False),
        "ReplayDeadLetters": ("administer", False)}),
    # Served by every service (runtime.audit_api); a search is recorded like any other read.
    **_methods("audit", "cdsp.audit.v1.AuditService", {"SearchAudit": ("read", True)}),
}


def granted(service: str, permission: str) -> tuple[str, ...]:
    """The roles `permission` of `service` grants (for the use cases' finer checks)."""
    return PERMISSIONS[service][permission]


def rule_for(method: str) -> MethodRule | None:
    return METHODS.get(method)


def require(caller: Caller, method: str) -> MethodRule:
    """PERMISSION_DENIED unless the caller's role has the method's permission."""
    rule = METHODS.get(method)
    if rule is None:
        raise PermissionDenied(f"{method} has no permission in the role matrix: refused")
    allowed = PERMISSIONS[rule.service][rule.permission]
    if caller.role not in allowed:
        raise PermissionDenied(f"role {caller.role!r} may not call "
                               f"{method.rsplit('/', 1)[-1]} ({rule.service} {rule.permission}: "
                               f"{', '.join(allowed)})")
    return rule


BREAK_GLASS_ROLES = ("city_admin",)
BREAK_GLASS_REASON = (10, 500)


def break_glass(caller: Caller, reason: str, field: str) -> Caller:
    """A city admin reading outside their jurisdictions with a stated reason: their scope becomes
    every jurisdiction for this call, and the reason goes with them into the audit log (which
    announces it to the jurisdictions they read)."""
    if caller.role not in BREAK_GLASS_ROLES:
        raise PermissionDenied(f"break-glass ({field}) is for {', '.join(BREAK_GLASS_ROLES)}")
    low, high = BREAK_GLASS_REASON
    if not low <= len(reason) <= high:
        raise InvalidArgument([FieldViolation(field, f"the reason: {low} to {high} characters")])
    return replace(caller, scopes=("/",), break_glass=reason)


def markdown() -> str:
    """The matrix as the README shows it: per service, each permission, its roles and methods."""
    lines = ["| service | permission | roles | methods (* personal data: audited) |",
             "|---|---|---|---|"]
    for service, permissions in PERMISSIONS.items():
        for permission, roles in permissions.items():
            methods = [f"{m.rsplit('/', 1)[-1]}{'*' if r.personal else ''}"
                       for m, r in METHODS.items()
                       if r.service == service and r.permission == permission]
            lines.append(f"| {service} | {permission} | {', '.join(roles)} | "
                         f"{', '.join(methods) or '(no method: a rule inside the service)'} |")
    unused = sorted(ROLES - {r for p in PERMISSIONS.values() for rs in p.values() for r in rs})
    lines.append("")
    lines.append(f"Roles with no permission here: {', '.join(unused) or 'none'}.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown())
