"""The notification service's use cases behind its gRPC API: inboxes, notices and their
delivery status, webhooks, worker contacts and app links."""

from __future__ import annotations

import re
import secrets

from google.protobuf import symbol_database

from notification.adapters import notice_store, recipient_store
from notification.adapters.notice_store import NoticeRow
from notification.adapters.recipient_store import ContactRow
from notification.config import Notifier
from notification.service.access import (
    ADMIN_ROLES,
    CONTACT_ROLES,
    INBOX_ROLES,
    MAX_RECIPIENT_ID,
    READ_ROLES,
    SELF_ROLES,
    WORKER_ROLES,
    check_inbox,
    own_inbox,
    require_contact_owner,
    require_person,
)
from runtime.auth import SYSTEM, Caller, is_valid_path
from runtime.errors import NotFound, PermissionDenied, Violations
from runtime.inputs import decode_page_token, next_page, page_size, require_path, require_uuid
from runtime.inputs import subtrees as caller_subtrees
from runtime.webhook_urls import WebhookUrlError, check_webhook_url

EMAIL_RE = re.compile(r"[^@\s]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}")
MAX_EVENT_TYPES = 50
EVENTS_PACKAGE = "cdsp.events.v1."


async def list_inbox(n: Notifier, caller: Caller, recipient_id: str, size: int, token: str
                     ) -> tuple[list[NoticeRow], str]:
    limit, after = page_size(size), decode_page_token(token)
    async with n.db.unit_of_work(caller) as uow:
        who = await check_inbox(uow, caller, recipient_id)
        rows = await notice_store.inbox(uow, who, after, limit)
    return next_page(rows, limit, lambda r: r.notice_id)


async def get_notice(n: Notifier, caller: Caller, notice_id: str) -> NoticeRow:
    caller.require_role(*INBOX_ROLES)
    require_uuid(notice_id, "notice_id")
    async with n.db.unit_of_work(caller) as uow:
        row = await notice_store.get(uow, notice_id)
        if row is not None:
            if caller.role in SELF_ROLES:  # their own, or their ward's, notice only
                own_inbox(caller, row.recipient_id)
            return row
        await uow.with_scope(SYSTEM)
        exists = await notice_store.get(uow, notice_id)
    if exists is not None:
        raise PermissionDenied("that notice is outside your jurisdictions")
    raise NotFound(f"no notice {notice_id}")


async def list_notices(n: Notifier, caller: Caller, path: str, source_event_id: str, size: int,
                       token: str) -> tuple[list[NoticeRow], str]:
    caller.require_role(*READ_ROLES)
    paths = caller_subtrees(caller, path)
    if source_event_id:
        require_uuid(source_event_id, "source_event_id")
    limit, after = page_size(size), decode_page_token(token)
    async with n.db.unit_of_work(caller) as uow:
        rows = await notice_store.in_jurisdictions(uow, paths, source_event_id, after, limit)
    return next_page(rows, limit, lambda r: r.notice_id)


async def delivery_stats(n: Notifier, caller: Caller, path: str
                         ) -> tuple[list[tuple[str, int, int]], int]:
    caller.require_role(*READ_ROLES)
    paths = caller_subtrees(caller, path)
    async with n.db.unit_of_work(caller) as uow:
        return await notice_store.stats(uow, paths)


async def register_webhook(n: Notifier, caller: Caller, url: str, event_types: list[str],
                           path: str) -> tuple[str, str, str]:
    """Returns (webhook id, the URL as stored, the signing secret)."""
    caller.require_role(*ADMIN_ROLES)
    v = Violations()
    try:
        url = check_webhook_url(url, n.settings.allowed_networks)
    except WebhookUrlError as e:
        v.add(e.field, e.rule)
    v.check(len(event_types) <= MAX_EVENT_TYPES, "event_types",
            f"at most {MAX_EVENT_TYPES} event types")
    for i, event_type in enumerate(event_types):
        v.check(_known_event(event_type), f"event_types[{i}]",
                "must be the full name of a platform event, like cdsp.events.v1.WarningRaised")
    v.check(is_valid_path(path), "jurisdiction_path",
            "must look like /3505/350502/ (codes between slashes)")
    v.raise_if_any()
    caller.require_scope(path, "that jurisdiction")
    secret = secrets.token_urlsafe(32)
    async with n.db.unit_of_work(caller) as uow:
        webhook_id = await notice_store.add_webhook(uow, url, sorted(set(event_types)), path,
                                                    secret)
    return webhook_id, url, secret


def _known_event(name: str) -> bool:
    if not name.startswith(EVENTS_PACKAGE):
        return False
    try:
        symbol_database.Default().GetSymbol(name)
    except KeyError:
        return False
    return True


async def set_worker_contact(n: Notifier, caller: Caller, recipient_id: str, path: str,
                             email: str) -> ContactRow | None:
    caller.require_role(*CONTACT_ROLES)
    v = Violations()
    v.check(0 < len(recipient_id) <= MAX_RECIPIENT_ID and not recipient_id.isspace(),
            "recipient_id", f"a worker's subject or a grid's path, 1 to {MAX_RECIPIENT_ID} "
            "characters")
    v.check(not email or (len(email) <= 254 and bool(EMAIL_RE.fullmatch(email))), "email",
            "must look like name@example.org (or be empty to remove it)")
    v.check(is_valid_path(path), "jurisdiction_path",
            "must look like /3505/350502/ (codes between slashes)")
    v.raise_if_any()
    caller.require_scope(path, "that jurisdiction")
    if recipient_id.startswith("/"):
        require_path(recipient_id, "recipient_id")
        caller.require_scope(recipient_id, "that grid team")
    async with n.db.unit_of_work(caller) as uow:
        existing = await recipient_store.contact_path_anywhere(uow, recipient_id)
        require_contact_owner(caller, recipient_id, existing)
        return await recipient_store.set_contact(uow, recipient_id, path, email)


async def link_app(n: Notifier, caller: Caller, person_id: str, linked: bool) -> None:
    caller.require_role(*WORKER_ROLES)
    person_id = require_uuid(person_id, "person_id")
    async with n.db.unit_of_work(caller) as uow:
        await require_person(uow, person_id)
        await recipient_store.link_app(uow, person_id, linked, caller.subject)
