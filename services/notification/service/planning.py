"""From an event to notices: which rules apply, who the recipients are, how each is reached,
and the rendered text, all stored (with one pending delivery per channel) in the consumer's
transaction. Nothing is sent here: the dispatcher sends what is stored.

Who is who, from the event:
- the event's persons are its `person_id`, its `person_ids`, or the members of its
  `household_id`, as the recipients projection knows them;
- resident: each of those persons; guardian: each one's guardian (when the person has one);
  liaison: each one's liaison (a worker); grid_team: the jurisdiction the event is filed under.
A resident or liaison the rule names but nobody can reach is stored as an undeliverable notice
with the reason, and a NoticeFailed event says so: never dropped in silence.

Contacts (name, phone, preferred channel, guardian) come from the registry's restricted topic,
read apart from the person's record, so they may arrive later than the record. An event whose
rules reach a resident or a guardian waits (runtime.pending, `person_contact:<id>`) for the
contact of each of its persons that has none yet; on its last attempt it is planned with what
is known (a resident without a phone gets the inbox or is undeliverable, with the reason).
Notices for workers and grid teams need no contact: they never name the person (partners'
webhooks receive them), only a neutral label with the record's short reference.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from google.protobuf.message import Message

from cdsp.events.v1 import notification_pb2 as nev
from cdsp.events.v1.envelope_pb2 import Envelope
from notification.adapters import notice_store, recipient_store
from notification.adapters.notice_store import NewNotice
from notification.adapters.recipient_store import RecipientRow
from notification.config import Notifier
from notification.domain import channels
from notification.domain.rules import Rule
from notification.metrics import NOTICES_PLANNED, UNDELIVERABLE
from runtime import pending
from runtime.db import UnitOfWork
from runtime.inputs import is_uuid

log = logging.getLogger("cdsp.notification.planning")
CHANNEL_NAMES = {channels.PHONE_CALL: "voice", channels.SMS: "sms", channels.APP: "inbox"}
# Who is reached through a person's contact; also who may read the person's name (their own,
# their ward's). Workers and grid teams read a label instead.
CONTACT_KINDS = frozenset({"resident", "guardian"})
NOTIFY_DISPATCH = "NOTIFY cdsp_deliveries"


@dataclass(frozen=True)
class Target:
    kind: str
    recipient_id: str
    path: str
    person: RecipientRow | None     # the person the notice is about (None for the grid team)
    reach: channels.Recipient | None  # how to reach a resident or guardian; None for workers


def _field(payload: Message, name: str) -> object:
    return getattr(payload, name) if name in payload.DESCRIPTOR.fields_by_name else None


@dataclass(frozen=True)
class EventPersons:
    """Whom an event is about, as the recipients projection knows them."""

    found: list[RecipientRow]   # active persons
    about: str                  # the id to file an unreachable resident under
    closed: bool = False        # every person it names is archived: nobody left to tell


async def event_persons(uow: UnitOfWork, payload: Message) -> EventPersons:
    """The persons an event is about. A person (or a household) the projection does not hold
    yet — the registry's topic lags — holds the event until they arrive (runtime.pending); on
    the event's last attempt the notices are planned with whom it knows, the others as
    undeliverable. Archived persons are known and get nothing."""
    person_id = _field(payload, "person_id")
    if isinstance(person_id, str) and person_id:
        return await _persons(uow, [person_id], person_id)
    person_ids = _field(payload, "person_ids")
    if person_ids:
        ids = [str(p) for p in person_ids]  # type: ignore[attr-defined]
        return await _persons(uow, ids, ids[0])
    household_id = _field(payload, "household_id")
    if isinstance(household_id, str) and household_id:
        members = await recipient_store.household_members(uow, household_id)
        known = bool(members) or (is_uuid(household_id) and await
                                  recipient_store.household_known(uow, household_id))
        if not known and is_uuid(household_id):
            pending.wait_for([f"household:{household_id}"])
        return EventPersons(members, household_id, closed=known and not members)
    return EventPersons([], "")


async def _persons(uow: UnitOfWork, ids: list[str], about: str) -> EventPersons:
    valid = [i for i in ids if is_uuid(i)]
    found = await recipient_store.get_many(uow, valid) if valid else []
    missing = set(valid) - {p.person_id for p in found}
    archived = await recipient_store.known(uow, sorted(missing)) if missing else set()
    pending.wait_for(pending.person_keys(sorted(missing - archived)))
    return EventPersons(found, about, closed=not found and bool(archived)
                        and archived == set(ids))


def _resident(p: RecipientRow) -> channels.Recipient:
    return channels.Recipient(p.person_id, p.category, p.preferred_channel, p.phone,
                              p.guardian_phone, bool(p.guardian_name or p.guardian_phone),
                              p.has_app)


def _guardian(p: RecipientRow) -> channels.Recipient:
    return channels.Recipient(p.person_id, 0, channels.SMS, p.guardian_phone)


def targets(kind: str, persons: list[RecipientRow], envelope: Envelope) -> list[Target]:
    if kind == "resident":
        return [Target(kind, p.person_id, p.jurisdiction_path, p, _resident(p)) for p in persons]
    if kind == "guardian":
        return [Target(kind, p.person_id, p.jurisdiction_path, p, _guardian(p))
                for p in persons if p.guardian_name or p.guardian_phone]
    if kind == "liaison":
        seen: dict[str, Target] = {}
        for p in persons:
            if p.liaison_id and p.liaison_id not in seen:
                seen[p.liaison_id] = Target(kind, p.liaison_id, p.jurisdiction_path, p, None)
        return list(seen.values())
    path = envelope.jurisdiction_path or (persons[0].jurisdiction_path if persons else "")
    return [Target("grid_team", path, path, persons[0] if persons else None, None)] if path else []


async def plan_event(n: Notifier, uow: UnitOfWork, envelope: Envelope, payload: Message) -> int:
    """Stores the notices an event calls for; returns how many were new."""
    rules = n.rules.match(envelope.event_type, payload)
    if not rules or envelope.snapshot:  # a re-published state is not news for anyone
        return 0
    named = await event_persons(uow, payload)
    persons, about = named.found, named.about
    pending.wait_for(missing_contacts(rules, persons))
    made = 0
    for rule in rules:
        fed = rule.feed(payload)
        done: set[tuple[str, str]] = set()
        for kind in rule.recipients:
            found = targets(kind, persons, envelope)
            if not found and named.closed and kind != "grid_team":
                continue  # the record is closed (moved out, deceased): nobody to tell
            if not found and kind in ("resident", "liaison"):
                # No resident means no person is known; a liaison can also be unassigned.
                reason = ("no person of this event is known to the notification service"
                          if not persons else "no liaison is assigned to this person")
                made += await _store(n, uow, envelope, rule, fed, _unreachable(
                    kind, about or envelope.aggregate_id, envelope, persons), reason)
                continue
            for target in found:
                if (target.kind, target.recipient_id) in done:
                    continue
                done.add((target.kind, target.recipient_id))
                made += await _store(n, uow, envelope, rule, fed, target)
                plan = channels.choose(target.reach) if target.reach else None
                if (target.kind == "resident" and plan is not None and plan.guardian_copy
                        and target.person and ("guardian", target.recipient_id) not in done):
                    done.add(("guardian", target.recipient_id))
                    made += await _store(n, uow, envelope, rule, fed, Target(
                        "guardian", target.recipient_id, target.path, target.person,
                        _guardian(target.person)))
    if made:
        await uow.execute(NOTIFY_DISPATCH)
    return made


def missing_contacts(rules: list[Rule], persons: list[RecipientRow]) -> list[str]:
    """The contacts the event must wait for: those of its persons that have none yet, when a
    rule reaches a resident or a guardian."""
    if not any(kind in CONTACT_KINDS for rule in rules for kind in rule.recipients):
        return []
    return [f"person_contact:{p.person_id}" for p in persons if not p.has_contact]


def _unreachable(kind: str, recipient_id: str, envelope: Envelope,
                 persons: list[RecipientRow]) -> Target:
    path = persons[0].jurisdiction_path if persons else envelope.jurisdiction_path
    return Target(kind, recipient_id, path or "/", None, None)


def _fields(n: Notifier, rule: Rule, fed: dict[str, str], target: Target) -> dict[str, str]:
    locale = n.settings.locale
    values = n.wording.translate(fed, locale)
    person = target.person
    # Only a resident (about themselves) and a guardian (about their ward) read the name.
    name = person.display_name if person and target.kind in CONTACT_KINDS else ""
    ref = short_ref(person.person_id) if person else ""
    if "household" in rule.context:
        if target.kind == "resident":
            values["household"] = n.wording.household_name(locale, own=True)
        elif name or not ref:
            values["household"] = n.wording.household_name(locale, own=False, name=name)
        else:
            values["household"] = n.wording.label("household", locale, ref)
    if "actions" in rule.context:
        values["actions"] = n.wording.actions_for(fed.get("level", ""), locale)
    if "person" in rule.context:
        values["person"] = (name or (n.wording.label("person", locale, ref) if ref else
                                     n.wording.household_name(locale, own=False)))
    return values


def short_ref(person_id: str) -> str:
    """The record's short reference in a label (the person id's first 8 characters)."""
    return person_id[:8]


async def _store(n: Notifier, uow: UnitOfWork, envelope: Envelope, rule: Rule,
                 fed: dict[str, str], target: Target, unreachable: str = "") -> int:
    reasons: tuple[str, ...] = ()
    easy_read = flash = False
    chosen: tuple[str, ...] = ()
    webhooks: list[str] = []
    if unreachable:
        reason = unreachable
    elif target.reach is not None:
        plan = channels.choose(target.reach)
        reasons, reason = plan.reasons, plan.undeliverable
        easy_read = plan.easy_read and target.kind == "resident"
        flash = plan.flash_alert
        chosen = tuple(dict.fromkeys(CHANNEL_NAMES[c] for c in plan.channels
                                     if c in CHANNEL_NAMES))
        if not chosen and not reason:
            reason = "none of the chosen channels can be sent by the platform"
    else:  # a worker or a grid team: their inbox, their e-mail, partners' webhooks
        reason = ""
        chosen = ("inbox", "email") if (n.email_enabled and await recipient_store.contact_emails(
            uow, [target.recipient_id])) else ("inbox",)
        webhooks = await notice_store.matching_webhooks(uow, envelope.event_type, target.path)
    text = n.templates.render(rule.template, _fields(n, rule, fed, target), n.settings.locale,
                              easy_read)
    notice_id = await notice_store.insert(uow, NewNotice(
        envelope.event_id, envelope.event_type, rule.name, rule.template, target.kind,
        target.recipient_id, target.path, rule.urgent, text.title, text.body, text.locale,
        easy_read, flash, reasons, reason, () if reason else chosen, tuple(webhooks)))
    if notice_id is None:
        return 0  # this event already made this notice
    NOTICES_PLANNED.labels(rule.template, target.kind).inc()
    if reason:
        UNDELIVERABLE.labels(target.kind).inc()
        log.info("notice %s for a %s is undeliverable: %s", notice_id, target.kind, reason)
        uow.record(nev.NoticeFailed(notice_id=notice_id, channel="", attempts=0,
                                    reason=f"undeliverable: {reason}"),
                   aggregate_type="notice", aggregate_id=notice_id, version=1,
                   jurisdiction_path=target.path)
    return 1
