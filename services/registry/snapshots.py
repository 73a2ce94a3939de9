"""The registry's aggregates as snapshot events (runtime.snapshots; `python -m
runtime.snapshot_cli registry`): every person (an active one as PersonUpdated with no changed
fields, an archived one as PersonArchived carrying the record), household (HouseholdChanged) and
jurisdiction (JurisdictionChanged), each at its current version, on cdsp.registry.v1; and every
person's contact (PersonContact, erased for an archived record, at the person's version) on the
restricted contacts topic. The other services' projections apply them as they apply the live
events; the resident ID never leaves, as in every event, and names and phones only on the
contacts topic."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from registry.adapters.person_store import _FROM, _P, _person
from registry.domain import events
from registry.domain.household import Household, Jurisdiction
from registry.domain.person import ARCHIVED
from runtime.snapshots import AFTER_UUID, Snapshot, SnapshotSource, page_by_uuid


def _person_state(row: Sequence[Any]) -> Snapshot:
    view = _person(row)
    person = view.person
    payload = (events.person_archived(person, view.household_income_fen)
               if person.status == ARCHIVED
               else events.person_updated(person, view.household_income_fen, []))
    return Snapshot(payload, person.person_id, person.version, person.jurisdiction_path)


def _contact_state(row: Sequence[Any]) -> Snapshot:
    person = _person(row).person
    return Snapshot(events.person_contact(person), person.person_id, person.version,
                    person.jurisdiction_path)


def _household_state(row: Sequence[Any]) -> Snapshot:
    household = Household(*row)
    return Snapshot(events.household_changed(household), household.household_id,
                    household.version, household.jurisdiction_path)


def _jurisdiction_state(row: Sequence[Any]) -> Snapshot:
    j = Jurisdiction(*row)
    return Snapshot(events.jurisdiction_changed(j), j.code, j.version, j.path)


SOURCES = [
    # Jurisdictions first: a projection may need the tree (the living standard) before persons.
    SnapshotSource("jurisdiction",
                   "SELECT code, name, level, coalesce(parent_code, ''), path, "
                   "minimum_living_standard_fen, version FROM jurisdictions "
                   "WHERE code > %(after)s ORDER BY code LIMIT %(limit)s",
                   _jurisdiction_state),
    SnapshotSource("household",
                   page_by_uuid("household_id::text, grid_code, jurisdiction_path, address, "
                                "monthly_income_fen, version", "households", "household_id"),
                   _household_state),
    SnapshotSource("person",
                   f"SELECT {_P} {_FROM} WHERE p.person_id > {AFTER_UUID} "
                   "ORDER BY p.person_id LIMIT %(limit)s", _person_state),
    SnapshotSource(events.CONTACT_AGGREGATE,
                   f"SELECT {_P} {_FROM} WHERE p.person_id > {AFTER_UUID} "
                   "ORDER BY p.person_id LIMIT %(limit)s", _contact_state,
                   topic=events.CONTACTS_TOPIC),
]
