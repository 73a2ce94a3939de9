"""AidService methods for hardship reports and aid cases."""

from __future__ import annotations

from typing import TypeAlias

import grpc

from aid.adapters.case_store import Case
from aid.config import Aid
from aid.domain.case_actions import CaseAction
from aid.service import case_actions, cases
from cdsp.aid.v1 import aid_pb2 as pb
from runtime.auth import current_caller
from runtime.timestamps import from_timestamp, to_timestamp

Ctx: TypeAlias = grpc.aio.ServicerContext


def action_to_proto(a: CaseAction) -> pb.RequiredAction:
    return pb.RequiredAction(action=a.action, due_at=to_timestamp(a.due_at),
                             completed_at=to_timestamp(a.completed_at),
                             completed_by=a.completed_by, note=a.note, breached=a.breached)


def case_to_proto(case: Case) -> pb.AidCase:
    return pb.AidCase(
        case_id=case.case_id, household_id=case.household_id,
        jurisdiction_path=case.jurisdiction_path, level=case.level,  # type: ignore[arg-type]
        status=case.status,  # type: ignore[arg-type]
        actions=[action_to_proto(a) for a in case.actions],
        outcome=case.outcome, opened_at=to_timestamp(case.opened_at),
        resolved_at=to_timestamp(case.resolved_at), version=case.version)


class CaseMethods:
    aid: Aid

    async def ReportHardship(self, request: pb.ReportHardshipRequest, context: Ctx
                             ) -> pb.ReportHardshipResponse:
        report_id, evaluation, case = await cases.report_hardship(
            self.aid, current_caller(), request.household_id, request.kind, request.amount_fen,
            request.description, from_timestamp(request.occurred_at,
                                                request.HasField("occurred_at")))
        reply = pb.ReportHardshipResponse(report_id=report_id,
                                          level=evaluation.level,  # type: ignore[arg-type]
                                          reason=evaluation.reason)
        if case is not None:
            reply.case.CopyFrom(case_to_proto(case))
        return reply

    async def GetCase(self, request: pb.GetCaseRequest, context: Ctx) -> pb.AidCase:
        return case_to_proto(await cases.get_case(self.aid, current_caller(), request.case_id))

    async def ListCases(self, request: pb.ListCasesRequest, context: Ctx) -> pb.ListCasesResponse:
        rows, token = await cases.list_cases(
            self.aid, current_caller(), request.jurisdiction_path, request.min_level,
            request.include_resolved, request.page_size, request.page_token)
        return pb.ListCasesResponse(cases=[case_to_proto(c) for c in rows], next_page_token=token)

    async def ResolveCase(self, request: pb.ResolveCaseRequest, context: Ctx) -> pb.AidCase:
        case = await cases.resolve_case(self.aid, current_caller(), request.case_id,
                                        request.outcome, request.expected_version)
        return case_to_proto(case)

    async def CompleteCaseAction(self, request: pb.CompleteCaseActionRequest, context: Ctx
                                 ) -> pb.AidCase:
        case = await case_actions.complete_action(
            self.aid, current_caller(), request.case_id, request.action, request.note,
            from_timestamp(request.completed_at, request.HasField("completed_at")))
        return case_to_proto(case)
