"""Registration reviews: a resident ID registered where its file is not kept.

One file per person, city-wide, yet a worker must not learn that a resident ID is on file in
a jurisdiction they do not cover (nor where, nor what became of it). Such a registration is
answered only "awaits review" (FAILED_PRECONDITION with the review id) and filed under the
common path of both places, where the administrators who cover both (a community worker for
two grids of one community, a street admin for two communities, ...) list and decide it:
reactivate the record of a resident archived as moved out into the household the worker named,
or refuse with a note. A holder inside the worker's own jurisdictions is named as before.
"""

from __future__ import annotations

import uuid

from registry.adapters import person_store, review_store
from registry.adapters.review_store import REACTIVATED, REFUSED, Review
from registry.config import Registry
from registry.domain.person import ARCHIVED, MOVED_OUT, Person
from registry.service.access import load_household
from registry.service.reactivation import reactivate_in
from runtime import roles
from runtime.auth import SYSTEM, Caller
from runtime.errors import (
    AlreadyExists,
    FailedPrecondition,
    NotFound,
    PermissionDenied,
    ServiceError,
    Violations,
)
from runtime.inputs import decode_page_token, is_uuid, next_page, page_size, subtrees
from runtime.logs import mask_resident_id

REVIEW_ROLES = roles.granted("registry", "review")
NOTE_MAX = 500


async def refusal(reg: Registry, caller: Caller, person: Person, requested_path: str
                  ) -> ServiceError:
    """The answer to a registration refused by the one-file-per-person index."""
    masked = mask_resident_id(person.resident_id)
    review_id = str(uuid.uuid4())
    async with reg.db.unit_of_work(SYSTEM) as uow:
        holder = await person_store.holder_of_resident_id(uow, person.resident_id)
        if holder is not None and not caller.covers(holder[3]):
            await review_store.open_review(uow, review_id, requested_path, person.household_id,
                                           holder[0], holder[3], caller.subject)
    if holder is not None and not caller.covers(holder[3]):
        return FailedPrecondition(
            f"resident ID {masked} cannot be registered here without a review: the request "
            f"is on the review list of the administrators of this area as review {review_id}")
    if holder is not None and holder[1] == ARCHIVED:
        person_id, _, reason, _ = holder
        if reason == MOVED_OUT:
            return AlreadyExists(
                f"resident ID {masked} is already registered: the record of person {person_id} "
                "is archived as moved out and can be reactivated (ReactivatePerson, with the "
                "household they live in now) instead of registering again")
        return AlreadyExists(f"resident ID {masked} is already registered: its record is "
                             "archived as deceased and cannot be reactivated")
    return AlreadyExists(f"resident ID {masked} is already registered (one file per person)")


async def list_reviews(reg: Registry, caller: Caller, path: str, include_resolved: bool,
                       size: int, token: str) -> tuple[list[Review], str]:
    caller.require_role(*REVIEW_ROLES)
    limit, after = page_size(size), decode_page_token(token)
    paths = subtrees(caller, path)
    async with reg.db.unit_of_work(caller) as uow:
        rows = await review_store.listed(uow, paths, include_resolved, after, limit + 1)
    return next_page(rows, limit, lambda r: r.review_id)


async def resolve_review(reg: Registry, caller: Caller, review_id: str, resolution: int,
                         note: str, expected_version: int) -> Review:
    caller.require_role(*REVIEW_ROLES)
    note = note.strip()
    v = Violations()
    v.check(is_uuid(review_id), "review_id", "must be a UUID")
    v.check(resolution in (REACTIVATED, REFUSED), "resolution",
            "must be REVIEW_RESOLUTION_REACTIVATED or REVIEW_RESOLUTION_REFUSED")
    v.check(resolution != REFUSED or bool(note), "note", "is required when refusing")
    v.check(len(note) <= NOTE_MAX, "note", f"at most {NOTE_MAX} characters")
    v.raise_if_any()
    async with reg.db.unit_of_work(caller) as uow:
        review = await review_store.get(uow, review_id, lock=True)
        if review is None:
            if await review_store.exists_anywhere(uow, review_id):
                raise PermissionDenied("that review is outside your jurisdictions")
            raise NotFound(f"no review {review_id}")
        if review.resolution:
            raise FailedPrecondition("the review is already resolved")
        if review.version != expected_version:
            raise FailedPrecondition(f"version {expected_version} is stale: the review is at "
                                     f"version {review.version}; read it again and retry")
        if resolution == REACTIVATED:
            household = await load_household(uow, review.household_id)
            holder = await person_store.get_person_anywhere(uow, review.holder_person_id)
            if holder is None or holder.person.archive_reason != MOVED_OUT:
                raise FailedPrecondition("only a record archived as moved out can be "
                                         "reactivated; refuse the review with a note instead")
            await reactivate_in(reg, uow, caller, review.holder_person_id, household,
                                holder.person.version)
        review.resolution, review.note, review.resolved_by = resolution, note, caller.subject
        await review_store.resolve(uow, review)
        resolved = await review_store.get(uow, review_id)
    assert resolved is not None
    return resolved

