"""Choosing how to reach a recipient, by who they are.

A person with a visual disability is never sent only a text they may not be able to read, nor a
deaf person only a voice call: the channels follow the disability, and an explicit preference
wins only where it is safe for that disability.

visual        voice call, and a screen-reader-friendly text (app or SMS)
hearing       text (SMS and app) with a flashing-alert flag; never voice
speech        text or app (they may not be able to answer a call)
intellectual  the easy-read version, and a copy to the guardian
mental        as preferred; a copy to the guardian when one is named
physical      as preferred
multiple      the union of what each applies (voice AND text with a flash alert, easy-read,
              guardian copy), since which one dominates is not known
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Channels (values of cdsp.common.v1.ContactChannel) plus the platform's own inbox.
PHONE_CALL, SMS, APP, MESSAGING_GROUP, IN_PERSON = 1, 2, 3, 4, 5
VISUAL, HEARING, SPEECH, PHYSICAL, INTELLECTUAL, MENTAL, MULTIPLE = range(1, 8)
NEEDS_A_PHONE = (PHONE_CALL, SMS)
# A messaging group or a visit is the worker's job, not something the platform can send.
NOT_SENDABLE = (MESSAGING_GROUP, IN_PERSON)


@dataclass(frozen=True)
class Recipient:
    person_id: str
    category: int              # disability category, 0 for a worker
    preferred_channel: int     # 0 when none was given
    phone: str = ""
    guardian_phone: str = ""
    has_guardian: bool = False
    has_app: bool = False      # the community app is installed and linked


@dataclass(frozen=True)
class Plan:
    """How one notice reaches one recipient."""

    channels: tuple[int, ...]
    easy_read: bool = False
    flash_alert: bool = False
    guardian_copy: bool = False
    reasons: tuple[str, ...] = field(default=())
    undeliverable: str = ""    # why no channel can reach them (recorded, never dropped)


def _reachable(channel: int, r: Recipient) -> bool:
    if channel in NOT_SENDABLE:
        return False
    if channel == APP:
        return r.has_app
    return channel not in NEEDS_A_PHONE or bool(r.phone)


def choose(r: Recipient) -> Plan:
    wanted: list[int] = []
    reasons: list[str] = []
    easy_read = flash = guardian = False
    visual = r.category in (VISUAL, MULTIPLE)
    hearing = r.category in (HEARING, MULTIPLE)
    if visual:  # the app's text is screen-reader friendly; without the app, an SMS is read aloud
        wanted += [PHONE_CALL, APP if r.has_app else SMS]
        reasons.append("visual: a voice call and a screen-reader-friendly text")
    if hearing:
        wanted += [SMS, APP]
        flash = True
        reasons.append("hearing: text with a flashing alert, never voice only")
    if r.category == SPEECH:
        wanted += [SMS, APP]
        reasons.append("speech: text, not a call they would have to answer")
    guardian_reachable = r.has_guardian and bool(r.guardian_phone)
    if r.category in (INTELLECTUAL, MULTIPLE):
        easy_read = True
        guardian = guardian_reachable
        reasons.append("intellectual: the easy-read version"
                       + (", and a copy to the guardian" if guardian_reachable else ""))
    if r.category == MENTAL and guardian_reachable:
        guardian = True
        reasons.append("mental: a copy to the named guardian")
    if r.has_guardian and not guardian_reachable and r.category in (INTELLECTUAL, MENTAL,
                                                                      MULTIPLE):
        reasons.append("the guardian has no phone number: no copy can reach them")
    preferred = r.preferred_channel
    if preferred in NOT_SENDABLE:
        reasons.append("the preferred channel (a messaging group or a visit) is the worker's to "
                       "use: the platform sends by the other channels")
    elif preferred and _safe(preferred, r):
        wanted = [preferred, *(c for c in wanted if c != preferred)]  # a safe preference leads
        reasons.append("the recipient's preferred channel first")
    elif preferred:
        reasons.append("preferred channel set aside: not safe for this disability")
    if not wanted:  # nothing in the disability decides: the app if linked, else a text
        wanted = [APP] if r.has_app else [SMS]
    channels = tuple(dict.fromkeys(c for c in wanted if _reachable(c, r)))
    if not channels and _reachable(APP, r):
        channels = (APP,)  # the app reaches anyone who has it, whatever else fails
        reasons.append("no phone for the chosen channels: the app instead")
    if hearing and channels and all(c == PHONE_CALL for c in channels):
        channels = ()  # voice alone never reaches a deaf person
    if not channels:
        return Plan((), easy_read, flash, guardian, tuple(reasons),
                    undeliverable="no reachable channel: no phone number for the channels "
                                  "this recipient can use, and no linked app")
    return Plan(channels, easy_read, flash, guardian, tuple(reasons))


def _safe(channel: int, r: Recipient) -> bool:
    """A preference is followed only where the disability allows it: no call for someone who
    cannot hear it or answer it."""
    return not (channel == PHONE_CALL and r.category in (HEARING, SPEECH))
