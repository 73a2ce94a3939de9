"""AidService methods for emergency kits and home sickbed visits."""

from __future__ import annotations

from typing import TypeAlias

import grpc

from aid.adapters.kit_store import Loan, Schedule
from aid.config import Aid
from aid.domain.kits import Stock
from aid.service import kits
from cdsp.aid.v1 import aid_pb2 as pb
from runtime.auth import current_caller
from runtime.timestamps import from_timestamp, to_timestamp

Ctx: TypeAlias = grpc.aio.ServicerContext


def stock_to_proto(stock: Stock) -> pb.KitStock:
    return pb.KitStock(grid_code=stock.grid_code, item=stock.item, total=stock.total,
                       available=stock.available, low_stock_threshold=stock.low_stock_threshold,
                       lendable=stock.lendable)


def loan_to_proto(loan: Loan) -> pb.KitLoan:
    return pb.KitLoan(loan_id=loan.loan_id, grid_code=loan.grid_code, item=loan.item,
                      person_id=loan.person_id, lent_at=to_timestamp(loan.lent_at),
                      returned_at=to_timestamp(loan.returned_at))


def schedule_to_proto(schedule: Schedule) -> pb.SickbedSchedule:
    return pb.SickbedSchedule(person_id=schedule.person_id,
                              last_visit_at=to_timestamp(schedule.last_visit_at),
                              next_due_at=to_timestamp(schedule.next_due_at))


class KitMethods:
    aid: Aid

    async def ReplenishKit(self, request: pb.ReplenishKitRequest, context: Ctx) -> pb.KitStock:
        stock = await kits.replenish(self.aid, current_caller(), request.grid_code,
                                     request.item, request.quantity, request.lendable,
                                     request.low_stock_threshold)
        return stock_to_proto(stock)

    async def LendKit(self, request: pb.LendKitRequest, context: Ctx) -> pb.KitLoan:
        loan = await kits.lend(self.aid, current_caller(), request.grid_code, request.item,
                               request.person_id)
        return loan_to_proto(loan)

    async def ReturnKit(self, request: pb.ReturnKitRequest, context: Ctx) -> pb.KitLoan:
        return loan_to_proto(await kits.return_loan(self.aid, current_caller(),
                                                    request.loan_id))

    async def ConsumeKit(self, request: pb.ConsumeKitRequest, context: Ctx) -> pb.KitStock:
        stock = await kits.consume(self.aid, current_caller(), request.grid_code, request.item,
                                   request.quantity, request.person_id)
        return stock_to_proto(stock)

    async def ListKitStock(self, request: pb.ListKitStockRequest, context: Ctx
                           ) -> pb.ListKitStockResponse:
        rows = await kits.list_stock(self.aid, current_caller(), request.grid_code)
        return pb.ListKitStockResponse(stock=[stock_to_proto(s) for s in rows])

    async def RecordSickbedVisit(self, request: pb.RecordSickbedVisitRequest, context: Ctx
                                 ) -> pb.SickbedSchedule:
        schedule = await kits.record_sickbed_visit(
            self.aid, current_caller(), request.person_id,
            from_timestamp(request.visited_at, request.HasField("visited_at")), request.note)
        return schedule_to_proto(schedule)

    async def ListOverdueSickbedVisits(self, request: pb.ListOverdueSickbedVisitsRequest,
                                       context: Ctx) -> pb.ListOverdueSickbedVisitsResponse:
        rows = await kits.list_overdue_sickbed(
            self.aid, current_caller(), request.jurisdiction_path,
            from_timestamp(request.as_of, request.HasField("as_of")))
        return pb.ListOverdueSickbedVisitsResponse(overdue=[schedule_to_proto(s) for s in rows])
