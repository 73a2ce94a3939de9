"""VolunteerService methods for "1+1+N" pairings: proposals, pairing, ending and listing."""

from __future__ import annotations

from typing import TypeAlias

import grpc

from cdsp.volunteer.v1 import volunteer_pb2 as pb
from runtime.auth import current_caller
from runtime.timestamps import to_timestamp
from volunteer.adapters.pairing_store import PairingRow
from volunteer.config import Volunteers
from volunteer.domain.pairing import Proposal
from volunteer.service import pairings

Ctx: TypeAlias = grpc.aio.ServicerContext


def pairing_to_proto(row: PairingRow) -> pb.Pairing:
    return pb.Pairing(pairing_id=row.pairing_id, person_id=row.person_id,
                      volunteer_id=row.volunteer_id, role=row.role,  # type: ignore[arg-type]
                      started_at=to_timestamp(row.started_at),
                      ended_at=to_timestamp(row.ended_at), end_reason=row.end_reason,
                      active=row.active)


def proposal_to_proto(p: Proposal) -> pb.PairingProposal:
    return pb.PairingProposal(volunteer_id=p.volunteer_id, role=p.role,  # type: ignore[arg-type]
                              score=p.score,
                              reasons=[f"{r.factor} +{r.points}: {r.explanation}"
                                       for r in p.reasons])


class PairingMethods:
    v: Volunteers

    async def ProposePairings(self, request: pb.ProposePairingsRequest, context: Ctx
                              ) -> pb.ProposePairingsResponse:
        found, needs = await pairings.propose(self.v, current_caller(), request.person_id,
                                              request.limit)
        return pb.ProposePairingsResponse(proposals=[proposal_to_proto(p) for p in found],
                                          structure=needs.describe())

    async def Pair(self, request: pb.PairRequest, context: Ctx) -> pb.Pairing:
        return pairing_to_proto(await pairings.pair(self.v, current_caller(), request.person_id,
                                                    request.volunteer_id, request.role))

    async def EndPairing(self, request: pb.EndPairingRequest, context: Ctx) -> pb.Pairing:
        return pairing_to_proto(await pairings.end(self.v, current_caller(), request.pairing_id,
                                                   request.reason))

    async def ListPairings(self, request: pb.ListPairingsRequest, context: Ctx
                           ) -> pb.ListPairingsResponse:
        rows = await pairings.list_pairings(self.v, current_caller(), request.person_id,
                                            request.volunteer_id)
        return pb.ListPairingsResponse(pairings=[pairing_to_proto(r) for r in rows])
