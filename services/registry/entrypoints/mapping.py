"""Between protobuf messages and the registry's domain objects."""

from __future__ import annotations

from cdsp.common.v1 import common_pb2
from cdsp.registry.v1 import registry_pb2 as pb
from registry.adapters.person_store import PersonView
from registry.adapters.review_store import Review
from registry.domain.contact import Guardian, Liaison
from registry.domain.household import Household, Jurisdiction
from registry.domain.person import Need, Person
from runtime.logs import mask_resident_id
from runtime.timestamps import to_timestamp as timestamp


def person_from_proto(m: pb.Person) -> Person:
    return Person(
        person_id=m.person_id,
        name=m.name,
        resident_id=m.resident_id,
        category=m.category,
        grade=m.grade,
        certified=m.certified,
        certificate_number=m.certificate_number,
        household_id=m.household_id,
        jurisdiction_path="",
        phone=m.phone.strip(),
        preferred_channel=m.preferred_channel,
        guardian=(Guardian(m.guardian.name.strip(), m.guardian.phone.strip(),
                           m.guardian.relation.strip()) if m.HasField("guardian") else None),
        liaison=(Liaison(m.liaison.worker_id.strip(), m.liaison.name.strip(),
                         m.liaison.phone.strip()) if m.HasField("liaison") else None),
        living_situation=m.living_situation,
        priority_groups=list(m.priority_groups),
        needs=[Need(n.code.strip(), n.description.strip()) for n in m.needs],
    )


def person_to_proto(view: PersonView, full_identity: bool) -> pb.Person:
    """Lists map up to 500 of these per call, so this builds the message in one constructor
    call (sub-messages included) rather than field by field."""
    p = view.person
    born = p.birth_date
    fields: dict[str, object] = {
        "person_id": p.person_id,
        "name": p.name,
        "resident_id": p.resident_id if full_identity else mask_resident_id(p.resident_id),
        "sex": p.sex,
        "birth_date": common_pb2.Date(year=born.year, month=born.month, day=born.day),
        "category": p.category,
        "grade": p.grade,
        "certificate_number": (p.certificate_number if full_identity or not p.certificate_number
                               else mask_resident_id(p.certificate_number)),
        "certified": p.certified,
        "household_id": p.household_id,
        "household_monthly_income_fen": view.household_income_fen,
        "address": view.address,
        "grid_code": view.grid_code,
        "jurisdiction_path": p.jurisdiction_path,
        "phone": p.phone,
        "preferred_channel": p.preferred_channel,
        "living_situation": p.living_situation,
        "priority_groups": p.priority_groups,
        "needs": [pb.Need(code=n.code, description=n.description) for n in p.needs],
        "status": p.status,
        "archive_reason": p.archive_reason,
        "last_verified_at": timestamp(p.last_verified_at),
        "created_at": timestamp(p.created_at),
        "updated_at": timestamp(p.updated_at),
        "version": p.version,
    }
    if view.service_history:
        fields["service_history"] = [
            pb.ServiceRecord(occurred_at=timestamp(at), kind=kind, description=desc,
                             provider=provider)
            for at, kind, desc, provider in view.service_history]
    if p.guardian:
        fields["guardian"] = pb.Guardian(name=p.guardian.name, phone=p.guardian.phone,
                                         relation=p.guardian.relation)
    if p.liaison:
        fields["liaison"] = pb.Liaison(worker_id=p.liaison.worker_id, name=p.liaison.name,
                                       phone=p.liaison.phone)
    return pb.Person(**fields)  # type: ignore[arg-type]


def jurisdiction_to_proto(j: Jurisdiction) -> pb.Jurisdiction:
    return pb.Jurisdiction(code=j.code, name=j.name, level=j.level,  # type: ignore[arg-type]
                           parent_code=j.parent_code, path=j.path,
                           minimum_living_standard_fen=j.minimum_living_standard_fen,
                           version=j.version)


def household_to_proto(h: Household, members: list[str]) -> pb.Household:
    return pb.Household(household_id=h.household_id, grid_code=h.grid_code,
                        jurisdiction_path=h.jurisdiction_path, address=h.address,
                        monthly_income_fen=h.monthly_income_fen, member_ids=members,
                        version=h.version)


def review_to_proto(r: Review) -> pb.RegistrationReview:
    return pb.RegistrationReview(
        review_id=r.review_id, jurisdiction_path=r.jurisdiction_path,
        requested_path=r.requested_path, household_id=r.household_id,
        holder_person_id=r.holder_person_id, holder_path=r.holder_path,
        requested_by=r.requested_by, requested_at=timestamp(r.requested_at),
        resolution=r.resolution,  # type: ignore[arg-type]
        note=r.note, resolved_by=r.resolved_by, resolved_at=timestamp(r.resolved_at),
        version=r.version)
