"""EmploymentService methods for placements, follow-ups, subsidies, grants, workshop sales and
the yearly figures."""

from __future__ import annotations

from typing import TypeAlias

import grpc

from cdsp.common.v1 import common_pb2 as common
from cdsp.employment.v1 import employment_pb2 as pb
from employment.adapters.placement_store import PlacementRow
from employment.config import Employment
from employment.domain.placements import Ymd
from employment.service import figures, placements
from employment.service.placements import pb_date
from runtime.auth import current_caller
from runtime.timestamps import from_timestamp, to_timestamp

Ctx: TypeAlias = grpc.aio.ServicerContext


def _ymd(message: object, field: str) -> Ymd:
    """A Date field's (year, month, day), or None when the request left it unset."""
    if not message.HasField(field):  # type: ignore[attr-defined]
        return None
    d: common.Date = getattr(message, field)
    return d.year, d.month, d.day


def placement_to_proto(p: PlacementRow) -> pb.Placement:
    return pb.Placement(placement_id=p.placement_id, person_id=p.person_id, post_id=p.post_id,
                        employer_id=p.employer_id, status=p.status,  # type: ignore[arg-type]
                        full_time=p.full_time, start_date=pb_date(p.start_date),
                        end_date=pb_date(p.end_date),
                        monthly_subsidy_fen=p.monthly_subsidy_fen,
                        next_follow_up_due=to_timestamp(p.next_follow_up_due),
                        last_follow_up_at=to_timestamp(p.last_follow_up_at),
                        end_reason=p.end_reason, version=p.version)


class PlacementMethods:
    emp: Employment

    async def Place(self, request: pb.PlaceRequest, context: Ctx) -> pb.Placement:
        return placement_to_proto(await placements.place(
            self.emp, current_caller(), request.person_id, request.post_id,
            _ymd(request, "start_date")))

    async def EndPlacement(self, request: pb.EndPlacementRequest, context: Ctx
                           ) -> pb.Placement:
        return placement_to_proto(await placements.end_placement(
            self.emp, current_caller(), request.placement_id, request.reason,
            _ymd(request, "end_date")))

    async def RecordFollowUp(self, request: pb.RecordFollowUpRequest, context: Ctx
                             ) -> pb.Placement:
        return placement_to_proto(await placements.record_follow_up(
            self.emp, current_caller(), request.placement_id,
            from_timestamp(request.visited_at, request.HasField("visited_at")),
            request.monthly_wage_fen, request.adaptation, request.rights_issues))

    async def ListOverdueFollowUps(self, request: pb.ListOverdueFollowUpsRequest, context: Ctx
                                   ) -> pb.ListOverdueFollowUpsResponse:
        found = await placements.list_overdue(self.emp, current_caller(),
                                              request.jurisdiction_path)
        return pb.ListOverdueFollowUpsResponse(placements=[placement_to_proto(p)
                                                           for p in found])

    async def GetSubsidiesOwed(self, request: pb.GetSubsidiesOwedRequest, context: Ctx
                               ) -> pb.SubsidiesOwed:
        owed = await figures.subsidies_owed(self.emp, current_caller(), request.year,
                                            request.month, request.jurisdiction_path)
        return pb.SubsidiesOwed(
            employers=[pb.EmployerSubsidy(employer_id=o.employer_id, name=o.name,
                                          placed_persons=o.placed_persons, owed_fen=o.owed_fen)
                       for o in owed],
            total_fen=sum(o.owed_fen for o in owed))

    async def AwardStartupGrant(self, request: pb.AwardStartupGrantRequest, context: Ctx
                                ) -> pb.StartupGrant:
        g = await figures.award_grant(self.emp, current_caller(), request.person_id,
                                      request.amount_fen, request.business)
        return pb.StartupGrant(grant_id=g.grant_id, person_id=g.person_id,
                               amount_fen=g.amount_fen, business=g.business,
                               awarded_at=to_timestamp(g.awarded_at))

    async def RecordWorkshopSale(self, request: pb.RecordWorkshopSaleRequest, context: Ctx
                                 ) -> pb.WorkshopSale:
        s = await figures.record_sale(self.emp, current_caller(), request.workshop,
                                      request.jurisdiction_path, request.amount_fen,
                                      _ymd(request, "sold_on"), request.goods)
        return pb.WorkshopSale(sale_id=s.sale_id, workshop=s.workshop,
                               jurisdiction_path=s.jurisdiction_path, amount_fen=s.amount_fen,
                               sold_on=pb_date(s.sold_on), goods=s.goods)

    async def GetYearlyFigures(self, request: pb.GetYearlyFiguresRequest, context: Ctx
                               ) -> pb.YearlyFigures:
        f = await figures.yearly_figures(self.emp, current_caller(), request.year,
                                         request.jurisdiction_path)
        c = f.counts
        return pb.YearlyFigures(year=f.year, jurisdiction_path=f.jurisdiction_path,
                                persons_assessed=c.assessed, persons_trained=c.trained,
                                persons_placed=c.placed,
                                still_employed_after_6_months=c.still_employed,
                                subsidy_owed_fen=f.subsidy_owed_fen,
                                startup_grants_fen=c.grants_fen,
                                workshop_sales_fen=c.sales_fen)
