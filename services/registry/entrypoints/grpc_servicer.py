"""RegistryService over gRPC: each method turns its request into a use-case call and the
result back into a response. Errors are mapped by the runtime's interceptor."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

import grpc

from cdsp.common.v1 import common_pb2
from cdsp.registry.v1 import registry_pb2 as pb
from cdsp.registry.v1 import registry_pb2_grpc
from registry.adapters.person_queries import PersonFilter
from registry.adapters.person_store import PersonView
from registry.config import Registry
from registry.entrypoints import mapping
from registry.service import (
    households,
    jurisdictions,
    persons,
    queries,
    reactivation,
    reviews,
)
from registry.service.access import FULL_IDENTITY_ROLES
from runtime.auth import current_caller
from runtime.timestamps import from_timestamp

Ctx: TypeAlias = grpc.aio.ServicerContext


def _person(view: PersonView) -> pb.Person:
    return mapping.person_to_proto(view, current_caller().role in FULL_IDENTITY_ROLES)


class RegistryServicer(registry_pb2_grpc.RegistryServiceServicer):
    def __init__(self, registry: Registry) -> None:
        self.reg = registry

    async def CreateJurisdiction(self, request: pb.CreateJurisdictionRequest, context: Ctx
                                 ) -> pb.Jurisdiction:
        j = await jurisdictions.create_jurisdiction(
            self.reg, current_caller(), request.code, request.name, request.level,
            request.parent_code, request.minimum_living_standard_fen)
        return mapping.jurisdiction_to_proto(j)

    async def UpdateJurisdiction(self, request: pb.UpdateJurisdictionRequest, context: Ctx
                                 ) -> pb.Jurisdiction:
        changes = {path: getattr(request.jurisdiction, path, None)
                   for path in request.update_mask.paths}
        j = await jurisdictions.update_jurisdiction(
            self.reg, current_caller(), request.jurisdiction.code, changes,
            request.expected_version)
        return mapping.jurisdiction_to_proto(j)

    async def GetJurisdiction(self, request: pb.GetJurisdictionRequest, context: Ctx
                              ) -> pb.Jurisdiction:
        j = await jurisdictions.get_jurisdiction(self.reg, current_caller(), request.code)
        return mapping.jurisdiction_to_proto(j)

    async def ListJurisdictions(self, request: pb.ListJurisdictionsRequest, context: Ctx
                                ) -> pb.ListJurisdictionsResponse:
        found = await jurisdictions.list_jurisdictions(self.reg, current_caller(),
                                                       request.parent_code)
        return pb.ListJurisdictionsResponse(
            jurisdictions=[mapping.jurisdiction_to_proto(j) for j in found])

    async def CreateHousehold(self, request: pb.CreateHouseholdRequest, context: Ctx
                              ) -> pb.Household:
        h, members = await households.create_household(
            self.reg, current_caller(), request.grid_code, request.address,
            request.monthly_income_fen)
        return mapping.household_to_proto(h, members)

    async def GetHousehold(self, request: pb.GetHouseholdRequest, context: Ctx) -> pb.Household:
        h, members = await households.get_household(self.reg, current_caller(),
                                                    request.household_id)
        return mapping.household_to_proto(h, members)

    async def UpdateHousehold(self, request: pb.UpdateHouseholdRequest, context: Ctx
                              ) -> pb.Household:
        changes = {path: getattr(request.household, path, None)
                   for path in request.update_mask.paths}
        h, members = await households.update_household(
            self.reg, current_caller(), request.household.household_id, changes,
            request.expected_version)
        return mapping.household_to_proto(h, members)

    async def RegisterPerson(self, request: pb.RegisterPersonRequest, context: Ctx) -> pb.Person:
        view = await persons.register_person(self.reg, current_caller(),
                                             mapping.person_from_proto(request.person))
        return _person(view)

    async def GetPerson(self, request: pb.GetPersonRequest, context: Ctx) -> pb.Person:
        return _person(await queries.get_person(self.reg, current_caller(), request.person_id))

    async def UpdatePerson(self, request: pb.UpdatePersonRequest, context: Ctx) -> pb.Person:
        view = await persons.update_person(
            self.reg, current_caller(), mapping.person_from_proto(request.person),
            list(request.update_mask.paths), request.expected_version)
        return _person(view)

    async def ArchivePerson(self, request: pb.ArchivePersonRequest, context: Ctx) -> pb.Person:
        view = await persons.archive_person(self.reg, current_caller(), request.person_id,
                                            request.reason, request.expected_version)
        return _person(view)

    async def ReactivatePerson(self, request: pb.ReactivatePersonRequest, context: Ctx
                               ) -> pb.Person:
        view = await reactivation.reactivate_person(
            self.reg, current_caller(), request.person_id, request.household_id,
            request.expected_version)
        return _person(view)

    async def ListPersons(self, request: pb.ListPersonsRequest, context: Ctx
                          ) -> pb.ListPersonsResponse:
        f = PersonFilter(
            paths=[request.jurisdiction_path] if request.jurisdiction_path else [],
            category=request.category, grade=request.grade,
            priority_group=request.priority_group,
            certified=request.certified if request.HasField("certified") else None,
            living_alone=request.living_alone if request.HasField("living_alone") else None,
            need_code=request.need_code, include_archived=request.include_archived)
        rows, token = await queries.list_persons(self.reg, current_caller(), f,
                                                 request.page_size, request.page_token,
                                                 request.query)
        return pb.ListPersonsResponse(persons=[_person(v) for v in rows], next_page_token=token)

    async def RecordVerification(self, request: pb.RecordVerificationRequest, context: Ctx
                                 ) -> pb.Person:
        view = await persons.record_verification(
            self.reg, current_caller(), request.person_id,
            from_timestamp(request.verified_at, request.HasField("verified_at")),
            request.note)
        return _person(view)

    async def ListOverdueVerifications(self, request: pb.ListOverdueVerificationsRequest,
                                       context: Ctx) -> pb.ListPersonsResponse:
        rows, token = await queries.list_overdue(
            self.reg, current_caller(), request.jurisdiction_path,
            from_timestamp(request.as_of, request.HasField("as_of")),
            request.page_size, request.page_token)
        return pb.ListPersonsResponse(persons=[_person(v) for v in rows], next_page_token=token)

    async def ListCertificationDue(self, request: pb.ListCertificationDueRequest, context: Ctx
                                   ) -> pb.ListPersonsResponse:
        rows, token = await queries.list_certification_due(
            self.reg, current_caller(), request.jurisdiction_path,
            from_timestamp(request.as_of, request.HasField("as_of")),
            request.page_size, request.page_token)
        return pb.ListPersonsResponse(persons=[_person(v) for v in rows], next_page_token=token)

    async def AddServiceRecord(self, request: pb.AddServiceRecordRequest, context: Ctx
                               ) -> pb.Person:
        r = request.record
        view = await persons.add_service_record(
            self.reg, current_caller(), request.person_id,
            from_timestamp(r.occurred_at, r.HasField("occurred_at")), r.kind,
            r.description, r.provider)
        return _person(view)

    async def GetStatistics(self, request: pb.GetStatisticsRequest, context: Ctx
                            ) -> pb.Statistics:
        path, s = await queries.statistics(self.reg, current_caller(),
                                           request.jurisdiction_path)

        def counts(pairs: object, name: Callable[[object], str] = str) -> list[pb.Count]:
            return [pb.Count(key=name(k), count=n) for k, n in pairs]  # type: ignore[attr-defined]

        def category(k: object) -> str:
            return common_pb2.DisabilityCategory.Name(k).removeprefix(  # type: ignore[arg-type]
                "DISABILITY_CATEGORY_").lower()

        return pb.Statistics(jurisdiction_path=path, persons=s["persons"],  # type: ignore[arg-type]
                             certified=s["certified"], uncertified=s["uncertified"],  # type: ignore[arg-type]
                             living_alone=s["living_alone"],  # type: ignore[arg-type]
                             by_category=counts(s["by_category"], category),
                             by_grade=counts(s["by_grade"]),
                             by_priority_group=counts(s["by_group"]))

    async def ListRegistrationReviews(self, request: pb.ListRegistrationReviewsRequest,
                                      context: Ctx) -> pb.ListRegistrationReviewsResponse:
        rows, token = await reviews.list_reviews(
            self.reg, current_caller(), request.jurisdiction_path, request.include_resolved,
            request.page_size, request.page_token)
        return pb.ListRegistrationReviewsResponse(
            reviews=[mapping.review_to_proto(r) for r in rows], next_page_token=token)

    async def ResolveRegistrationReview(self, request: pb.ResolveRegistrationReviewRequest,
                                        context: Ctx) -> pb.RegistrationReview:
        review = await reviews.resolve_review(
            self.reg, current_caller(), request.review_id, request.resolution, request.note,
            request.expected_version)
        return mapping.review_to_proto(review)
