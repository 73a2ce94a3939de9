"""EmploymentService methods for employers, posts and matching."""

from __future__ import annotations

from datetime import date
from typing import TypeAlias

import grpc

from cdsp.common.v1 import common_pb2
from cdsp.employment.v1 import employment_pb2 as pb
from employment.adapters.post_store import EmployerRow, PostRow
from employment.config import Employment
from employment.domain.matching import Match, PostDraft, Ymd
from employment.service import jobs
from runtime.auth import current_caller

Ctx: TypeAlias = grpc.aio.ServicerContext


def _ymd(d: common_pb2.Date) -> Ymd:
    return d.year, d.month, d.day


def _date(d: date | None) -> common_pb2.Date | None:
    return common_pb2.Date(year=d.year, month=d.month, day=d.day) if d else None


def employer_to_proto(e: EmployerRow) -> pb.Employer:
    s = e.spec
    return pb.Employer(employer_id=e.employer_id, name=s.name,
                       jurisdiction_path=s.jurisdiction_path,
                       monthly_subsidy_fen=s.monthly_subsidy_fen,
                       agreement_start=_date(s.agreement_start),
                       agreement_end=_date(s.agreement_end))


def post_to_proto(p: PostRow, indicators: tuple[str, ...]) -> pb.Post:
    s = p.spec
    return pb.Post(post_id=p.post_id, kind=s.kind,  # type: ignore[arg-type]
                   employer_id=s.employer_id or "", title=s.title,
                   jurisdiction_path=s.jurisdiction_path, track=s.track,  # type: ignore[arg-type]
                   openings=s.openings, filled=p.filled, staggered_hours=s.staggered_hours,
                   remote=s.remote, full_time=s.full_time,
                   suitable_categories=s.suitable_categories,  # type: ignore[arg-type]
                   min_grade=s.min_grade,
                   minimum_scores=[pb.IndicatorScore(indicator=n, score=least) for n, least
                                   in zip(indicators, s.minimum_scores, strict=False) if least],
                   monthly_wage_fen=s.monthly_wage_fen, open=p.open)


def _reasons(match: Match) -> list[pb.MatchReason]:
    return [pb.MatchReason(factor=r.factor, points=r.points, explanation=r.explanation)
            for r in match.reasons]


class JobMethods:
    emp: Employment

    async def RegisterEmployer(self, request: pb.RegisterEmployerRequest, context: Ctx
                               ) -> pb.Employer:
        return employer_to_proto(await jobs.register_employer(
            self.emp, current_caller(), request.name, request.jurisdiction_path,
            request.monthly_subsidy_fen, _ymd(request.agreement_start),
            _ymd(request.agreement_end)))

    async def CreatePost(self, request: pb.CreatePostRequest, context: Ctx) -> pb.Post:
        r = request
        draft = PostDraft(r.kind, r.employer_id, r.title, r.jurisdiction_path, r.track,
                          r.openings, r.staggered_hours, r.remote, r.full_time,
                          tuple(r.suitable_categories), r.min_grade,
                          tuple((s.indicator, s.score) for s in r.minimum_scores),
                          r.monthly_wage_fen)
        post = await jobs.create_post(self.emp, current_caller(), draft)
        return post_to_proto(post, self.emp.scale.names)

    async def MatchCandidates(self, request: pb.MatchCandidatesRequest, context: Ctx
                              ) -> pb.MatchCandidatesResponse:
        found, considered = await jobs.match_candidates(self.emp, current_caller(),
                                                        request.post_id, request.limit)
        return pb.MatchCandidatesResponse(
            matches=[pb.CandidateMatch(person_id=c.person_id, score=match.score,
                                       reasons=_reasons(match),
                                       jurisdiction_path=c.jurisdiction_path)
                     for c, match in found], considered=considered)

    async def MatchPosts(self, request: pb.MatchPostsRequest, context: Ctx
                         ) -> pb.MatchPostsResponse:
        found = await jobs.match_posts(self.emp, current_caller(), request.person_id,
                                       request.limit)
        return pb.MatchPostsResponse(matches=[
            pb.PostMatch(post_id=p.post_id, score=match.score, reasons=_reasons(match),
                         title=p.spec.title) for p, match in found])
