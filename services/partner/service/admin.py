"""The administrators' use cases: register subscribers, read and list them, pause, resume and
revoke them, rotate their secrets, list and replay their dead letters. An administrator sees and
changes the subscribers of their jurisdictions only (row-level security; a subscriber outside
them is NOT_FOUND). `expected_version` (0: any) guards each change against a concurrent one
(FAILED_PRECONDITION when stale)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from cdsp.partner.v1 import partner_pb2 as pb
from partner.adapters import delivery_store, subscriber_store
from partner.adapters.subscriber_store import ACTIVE, PAUSED, REVOKED, SubscriberRow
from partner.config import Partners
from partner.domain import pseudonym, subscription
from partner.service import keys
from runtime.auth import Caller
from runtime.db import UnitOfWork
from runtime.errors import FailedPrecondition, NotFound, Violations
from runtime.inputs import decode_page_token, next_page, page_size, require_uuid

MAX_OVERLAP_S = 30 * 86_400
# Which states each change starts from, and the state it leaves.
CHANGES = {"pause": ((ACTIVE,), PAUSED), "resume": ((PAUSED,), ACTIVE),
           "revoke": ((ACTIVE, PAUSED), REVOKED)}


async def register(p: Partners, caller: Caller, s: pb.Subscriber) -> tuple[SubscriberRow, str]:
    checked = subscription.check(s, caller, p.settings.allowed_networks)
    subscriber_id = str(uuid.uuid4())
    secret = keys.new_secret()
    async with p.db.unit_of_work(caller) as uow:
        row = await subscriber_store.insert(
            uow, subscriber_id, checked, keys.seal(p.keys, keys.SECRET, subscriber_id, secret),
            keys.seal_pseudonym_key(p.keys, subscriber_id, pseudonym.new_key()), caller.subject)
    return row, secret


async def _load(uow: UnitOfWork, subscriber_id: str, lock: bool = False) -> SubscriberRow:
    require_uuid(subscriber_id, "subscriber_id")
    row = await subscriber_store.get(uow, subscriber_id, lock)
    if row is None:
        raise NotFound(f"no subscriber {subscriber_id} in your jurisdictions (subscriber_id)")
    return row


def _check_version(row: SubscriberRow, expected: int) -> None:
    if expected and expected != row.version:
        raise FailedPrecondition(f"version {expected} is stale: the subscriber is at version "
                                 f"{row.version} (expected_version)")


async def get(p: Partners, caller: Caller, subscriber_id: str) -> SubscriberRow:
    async with p.db.unit_of_work(caller) as uow:
        return await _load(uow, subscriber_id)


async def page(p: Partners, caller: Caller, include_revoked: bool, size: int, token: str
               ) -> tuple[list[SubscriberRow], str]:
    limit, after = page_size(size), decode_page_token(token)
    async with p.db.unit_of_work(caller) as uow:
        rows = await subscriber_store.page(uow, include_revoked, after, limit)
    return next_page(rows, limit, lambda r: r.subscriber_id)


async def change(p: Partners, caller: Caller, action: str, subscriber_id: str,
                 expected_version: int) -> SubscriberRow:
    """Pause (deliveries wait), resume (they go on, in order) or revoke (for good: whatever
    waits is dropped, nothing more is sent)."""
    starts, ends = CHANGES[action]
    async with p.db.unit_of_work(caller) as uow:
        row = await _load(uow, subscriber_id, lock=True)
        _check_version(row, expected_version)
        if row.state not in starts:
            raise FailedPrecondition(f"cannot {action} a subscriber that is "
                                     f"{pb.SubscriberState.Name(row.state)}")  # type: ignore[arg-type]
        row = await subscriber_store.set_state(uow, subscriber_id, ends)
        if ends == REVOKED:
            await delivery_store.drop_all(uow, subscriber_id)
        elif ends == ACTIVE:
            await delivery_store.notify(uow)
    return row


async def rotate(p: Partners, caller: Caller, subscriber_id: str, overlap_s: int
                 ) -> tuple[SubscriberRow, str]:
    """A new secret; the current one still signs (second in the signature header) for
    `overlap_s` (0: the default, CDSP_PARTNER_OVERLAP_S)."""
    v = Violations()
    v.check(0 <= overlap_s <= MAX_OVERLAP_S, "overlap_s", f"0 (default) to {MAX_OVERLAP_S}")
    v.raise_if_any()
    overlap = overlap_s or p.settings.overlap_s
    secret = keys.new_secret()
    async with p.db.unit_of_work(caller) as uow:
        row = await _load(uow, subscriber_id, lock=True)
        if row.state == REVOKED:
            raise FailedPrecondition("the subscriber is revoked: its secret is not rotated")
        current = keys.signing_secrets(p.keys, subscriber_id, row.secret_sealed, None, None)[0]
        row = await subscriber_store.set_secret(
            uow, subscriber_id, keys.seal(p.keys, keys.SECRET, subscriber_id, secret),
            keys.seal(p.keys, keys.OLD_SECRET, subscriber_id, current),
            datetime.now(UTC) + timedelta(seconds=overlap))
    return row, secret


async def dead_letters(p: Partners, caller: Caller, subscriber_id: str, size: int, token: str
                       ) -> tuple[list[pb.DeadLetter], str]:
    limit, after = page_size(size), decode_page_token(token)
    async with p.db.unit_of_work(caller) as uow:
        await _load(uow, subscriber_id)
        rows = await delivery_store.dead_letters(uow, subscriber_id, after, limit)
    rows, next_token = next_page(rows, limit, lambda r: r[0])
    out = []
    for delivery_id, event_id, type_name, subject, attempts, error, failed_at in rows:
        letter = pb.DeadLetter(delivery_id=delivery_id, event_id=event_id, type=type_name,
                               subject=subject, attempts=attempts, last_error=error)
        letter.failed_at.FromDatetime(failed_at)
        out.append(letter)
    return out, next_token


async def replay(p: Partners, caller: Caller, subscriber_id: str, ids: list[str]) -> int:
    for i, delivery_id in enumerate(ids):
        require_uuid(delivery_id, f"delivery_ids[{i}]")
    async with p.db.unit_of_work(caller) as uow:
        row = await _load(uow, subscriber_id)
        if row.state == REVOKED:
            raise FailedPrecondition("the subscriber is revoked: nothing is replayed")
        count = await delivery_store.replay(uow, subscriber_id, ids)
        if count:
            await delivery_store.notify(uow)
    return count
