"""AidService methods for temporary relief, budgets and the ledger export."""

from __future__ import annotations

from typing import TypeAlias

import grpc

from aid.config import Aid
from aid.service import relief
from cdsp.aid.v1 import aid_pb2 as pb
from runtime.auth import current_caller
from runtime.timestamps import to_timestamp

Ctx: TypeAlias = grpc.aio.ServicerContext


class ReliefMethods:
    aid: Aid

    async def GrantRelief(self, request: pb.GrantReliefRequest, context: Ctx
                          ) -> pb.ReliefDecision:
        decision = await relief.grant_relief(self.aid, current_caller(), request.household_id,
                                             request.amount_fen, request.reason,
                                             request.case_id)
        relief.require_refusal_to_fail(decision)  # recorded in the ledger, then refused
        return pb.ReliefDecision(
            decision_id=decision.decision_id, household_id=decision.household_id,
            amount_fen=decision.amount_fen, granted=True,
            budget_remaining_fen=decision.budget_remaining_fen,
            decided_at=to_timestamp(decision.decided_at), case_id=decision.case_id,
            case_granted_fen=decision.case_granted_fen, case_cap_fen=decision.case_cap_fen)

    async def GetBudget(self, request: pb.GetBudgetRequest, context: Ctx) -> pb.Budget:
        b = await relief.get_budget(self.aid, current_caller(), request.community_path,
                                    request.year)
        return pb.Budget(community_path=b.community_path, year=b.year, total_fen=b.total_fen,
                         granted_fen=b.granted_fen, remaining_fen=b.remaining_fen)

    async def ExportLedger(self, request: pb.ExportLedgerRequest, context: Ctx
                           ) -> pb.ExportLedgerResponse:
        data, rows = await relief.export_ledger(self.aid, current_caller(),
                                                request.jurisdiction_path, request.year,
                                                request.quarter)
        return pb.ExportLedgerResponse(csv=data, rows=rows)
