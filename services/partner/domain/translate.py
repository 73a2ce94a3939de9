"""Internal events → the public payloads of cdsp.partner.v1 (pure; the ids in them are still
internal: the fan-out replaces them with each subscriber's pseudonyms).

    registry   PersonRegistered, PersonReactivated → PersonEnrolled (age band from the birth date,
               at the event's date); PersonArchived → PersonLeft; HouseholdChanged →
               HouseholdIncomeAssessed (below the nearest minimum living standard set at or
               above the household's jurisdiction, as the gateway's projection of the
               registry's JurisdictionChanged knows it: 0 = none known, then the flag is false)
    aid        WarningRaised → WarningRaised (the rule from the level, never the reason's figures);
               CaseResolved → WarningResolved; ReliefDecided → ReliefDecided
    employment CourseCompleted → CourseCompleted; Placed → PersonPlaced;
               PlacementEnded → PlacementEnded

Snapshot events are not changes: they are never translated (a replay would mark them replay).
ServiceRequestResolved is not produced yet: the aid service's RequestResolved names no person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from cdsp.events.v1 import aid_pb2 as aev
from cdsp.events.v1 import employment_pb2 as eev
from cdsp.events.v1 import registry_pb2 as rev
from cdsp.events.v1.envelope_pb2 import Envelope
from cdsp.partner.v1 import events_pb2 as pev
from partner.domain.catalogue import SUBJECT_FIELD

RULES: dict[int, str] = {pev.WARNING_LEVEL_RED: "medical_share",
                         pev.WARNING_LEVEL_ORANGE: "accident",
                         pev.WARNING_LEVEL_YELLOW: "daily_gap"}
LEFT_REASONS = {rev.ARCHIVE_REASON_MOVED_OUT: "moved_out", rev.ARCHIVE_REASON_DECEASED: "deceased"}


@dataclass(frozen=True)
class Translated:
    payload: Message        # a cdsp.partner.v1 payload, ids still internal
    subject_id: str         # the internal id of the household or person it is about
    time: Timestamp


def age_band(birth: date | None, on: date) -> int:
    """The lower bound of the 10-year band of the age on `on` (0..80); 0 when unknown."""
    if birth is None or birth > on:
        return 0
    age = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    return min(80, age // 10 * 10)


def below_standard(monthly_income_fen: int, standard_fen: int) -> bool:
    """The household's monthly income against the standard (false when none is known). The
    registry's HouseholdChanged carries no member count, so this compares the household's
    income with the standard as the registry states it, not a per-capita income."""
    return standard_fen > 0 and monthly_income_fen < standard_fen


def _level(internal: int) -> pev.WarningLevel.ValueType:
    """The public level of an internal one (the same numbers, a type of their own)."""
    return pev.WarningLevel.ValueType(internal)


def _enrolled(p: rev.PersonSnapshot, on: date) -> pev.PersonEnrolled:
    birth = (date(p.birth_date.year, p.birth_date.month, p.birth_date.day)
             if p.HasField("birth_date") and p.birth_date.year else None)
    return pev.PersonEnrolled(person=p.person_id, household=p.household_id,
                              category=int(p.category), grade=p.grade, certified=p.certified,
                              age_band=age_band(birth, on),
                              priority_groups=list(p.priority_groups),
                              need_codes=list(p.need_codes))


def _payload(envelope: Envelope, event: Message, standard_fen: int) -> Message | None:
    on = envelope.occurred_at.ToDatetime().date()
    match event:
        case rev.PersonRegistered() | rev.PersonReactivated():
            return _enrolled(event.person, on)
        case rev.PersonArchived():
            return pev.PersonLeft(person=event.person_id,
                                  reason=LEFT_REASONS.get(event.reason, "other"))
        case rev.HouseholdChanged():
            return pev.HouseholdIncomeAssessed(
                household=event.household_id, monthly_income_fen=event.monthly_income_fen,
                below_minimum_living_standard=below_standard(event.monthly_income_fen,
                                                             standard_fen))
        case aev.WarningRaised():
            level, previous = _level(event.level), _level(event.previous_level)
            return pev.WarningRaised(household=event.household_id, case=event.case_id,
                                     level=level, previous_level=previous,
                                     rule=RULES.get(level, ""), persons=list(event.person_ids))
        case aev.CaseResolved():
            return pev.WarningResolved(household=event.household_id, case=event.case_id,
                                       outcome=event.outcome)
        case aev.ReliefDecided():
            return pev.ReliefDecided(household=event.household_id, granted=event.granted,
                                     amount_fen=event.amount_fen,
                                     refusal_limit=event.refusal_limit)
        case eev.CourseCompleted():
            return pev.CourseCompleted(person=event.person_id, course=event.course_id,
                                       hours_attended=event.hours_attended)
        case eev.Placed():
            return pev.PersonPlaced(person=event.person_id, post=event.post_id,
                                    employer=event.employer_id, full_time=event.full_time,
                                    monthly_subsidy_fen=event.monthly_subsidy_fen)
        case eev.PlacementEnded():
            return pev.PlacementEnded(person=event.person_id, reason=event.reason)
    return None


# The internal event types the gateway translates (its consumers' handler tables).
TRANSLATED = tuple(cls.DESCRIPTOR.full_name for cls in (
    rev.PersonRegistered, rev.PersonReactivated, rev.PersonArchived, rev.HouseholdChanged,
    aev.WarningRaised, aev.CaseResolved, aev.ReliefDecided,
    eev.CourseCompleted, eev.Placed, eev.PlacementEnded))


def translate(envelope: Envelope, event: Message, standard_fen: int = 0) -> Translated | None:
    """The public event of an internal one, or None (a snapshot, or nothing to say)."""
    if envelope.snapshot:
        return None
    payload = _payload(envelope, event, standard_fen)
    if payload is None:
        return None
    subject = getattr(payload, SUBJECT_FIELD[payload.DESCRIPTOR.full_name])
    if not subject:
        return None
    return Translated(payload, subject, envelope.occurred_at)
