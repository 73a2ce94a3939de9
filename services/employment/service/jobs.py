"""Partner employers, job posts, and matching candidates to posts (and posts to a candidate),
each match with the reasons of its rank (employment.domain.matching)."""

from __future__ import annotations

from datetime import datetime

from employment.adapters import post_store
from employment.adapters.candidate_store import CandidateRow
from employment.adapters.post_store import EmployerRow, PostRow
from employment.config import Employment
from employment.domain import matching
from employment.domain.matching import Match, PostDraft, Ymd
from employment.service.access import MANAGER_ROLES, READ_ROLES, load_candidate
from runtime.auth import Caller
from runtime.db import UnitOfWork
from runtime.errors import FailedPrecondition, NotFound, PermissionDenied, Violations
from runtime.inputs import require_uuid
from runtime.sql import filed_under

DEFAULT_LIMIT, MAX_LIMIT = 20, 200


def _limit(requested: int) -> int:
    if not 0 <= requested <= MAX_LIMIT:
        v = Violations()
        v.add("limit", f"0 (default {DEFAULT_LIMIT}) to {MAX_LIMIT}")
        v.raise_if_any()
    return requested or DEFAULT_LIMIT


async def _missing(uow: UnitOfWork, table: str, key: str, value: str, what: str) -> Exception:
    """NOT_FOUND, or PERMISSION_DENIED when it exists outside the caller's jurisdictions."""
    if await filed_under(uow, table, key, value) is not None:
        return PermissionDenied(f"that {what} is outside your jurisdictions")
    return NotFound(f"no {what} {value}")


async def register_employer(emp: Employment, caller: Caller, name: str, path: str,
                            subsidy_fen: int, start: Ymd, end: Ymd) -> EmployerRow:
    caller.require_role(*MANAGER_ROLES)
    v = Violations()
    spec = matching.employer_spec(v, name, path, subsidy_fen, start, end, emp.rules.subsidy_fen,
                                  datetime.now(emp.local_tz).date())
    v.raise_if_any()
    caller.require_scope(spec.jurisdiction_path, "that jurisdiction")
    async with emp.db.unit_of_work(caller) as uow:
        return await post_store.add_employer(uow, spec)


async def create_post(emp: Employment, caller: Caller, draft: PostDraft) -> PostRow:
    caller.require_role(*MANAGER_ROLES)
    v = Violations()
    spec = matching.post_spec(v, draft, emp.scale)
    v.raise_if_any()
    caller.require_scope(spec.jurisdiction_path, "that jurisdiction")
    async with emp.db.unit_of_work(caller) as uow:
        if spec.employer_id and await post_store.get_employer(uow, spec.employer_id) is None:
            raise await _missing(uow, "employers", "employer_id", spec.employer_id, "employer")
        return await post_store.add_post(uow, spec)


def _subtrees(caller: Caller, post: PostRow) -> list[str]:
    """Where the post's candidates may live, within the caller's jurisdictions."""
    if post.spec.remote:
        return list(caller.scopes)
    area = matching.catchment(post.spec.jurisdiction_path)
    found = {s for s in caller.scopes if s.startswith(area)}
    found |= {area for s in caller.scopes if area.startswith(s)}
    return sorted(found)


async def match_candidates(emp: Employment, caller: Caller, post_id: str, limit: int
                           ) -> tuple[list[tuple[CandidateRow, Match]], int]:
    caller.require_role(*READ_ROLES)
    require_uuid(post_id, "post_id")
    limit = _limit(limit)
    today = datetime.now(emp.local_tz).date()
    born = matching.birth_window(today, emp.rules.min_age, emp.rules.max_age)
    async with emp.db.unit_of_work(caller) as uow:
        post = await post_store.get_post(uow, post_id)
        if post is None:
            raise await _missing(uow, "posts", "post_id", post_id, "post")
        if not post.open or post.filled >= post.spec.openings:
            raise FailedPrecondition("the post is closed or has no opening left")
        subtrees = _subtrees(caller, post)
        if not subtrees:
            return [], 0
        found, considered = await post_store.match_candidates(uow, post.spec, subtrees, born,
                                                              limit)
    return [(c, matching.explain(post.spec, c)) for c, _ in found], considered


async def match_posts(emp: Employment, caller: Caller, person_id: str, limit: int
                      ) -> list[tuple[PostRow, Match]]:
    caller.require_role(*READ_ROLES)
    limit = _limit(limit)
    today = datetime.now(emp.local_tz).date()
    async with emp.db.unit_of_work(caller) as uow:
        candidate = await load_candidate(uow, person_id)
        age, low, high = candidate.age(today), emp.rules.min_age, emp.rules.max_age
        if not low <= age <= high:
            raise FailedPrecondition(
                f"the person is {age}: outside working age ({low}-{high}), so not matched"
                if age >= 0 else "the person's birth date is not known: working age cannot be "
                                 "checked")
        found = await post_store.match_posts(uow, candidate, list(caller.scopes), limit)
    return [(p, matching.explain(p.spec, candidate)) for p, _ in found]
