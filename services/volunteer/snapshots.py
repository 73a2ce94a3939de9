"""The volunteer service's aggregates as snapshot events (runtime.snapshots; `python -m
runtime.snapshot_cli volunteer`): every volunteer (VolunteerState), pairing (PairingState), care
schedule of a person cared for (CareScheduleState) and visit (VisitLogged: a visit is a fact that
never changes), each under the aggregate type and at the version its live events carry, filed
where its row is:

    volunteer      1, as VolunteerRegistered (a volunteer has no version column)
    pairing        1 while active, 2 once ended, as PairingMade and PairingEnded
    care_schedule  the person's colour version, as RiskColourChanged and VisitMissed
    visit          1, as VisitLogged

Ids, codes, counts, times and scores only: a volunteer's name and phone, a pairing's end reason,
a colour's reason and what a visitor found are never re-published.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cdsp.events.v1 import volunteer_pb2 as ev
from runtime.snapshots import Snapshot, SnapshotSource, page_by_uuid
from runtime.timestamps import to_timestamp
from volunteer.adapters.pairing_store import COLUMNS as PAIRING_COLUMNS
from volunteer.adapters.pairing_store import PairingRow
from volunteer.adapters.person_store import COLUMNS as PERSON_COLUMNS
from volunteer.adapters.person_store import PersonRow
from volunteer.adapters.visit_store import COLUMNS as VISIT_COLUMNS
from volunteer.adapters.visit_store import VisitRow
from volunteer.adapters.volunteer_store import COLUMNS as VOLUNTEER_COLUMNS
from volunteer.adapters.volunteer_store import VolunteerRow
from volunteer.service.visits import visit_logged


def _volunteer_state(row: Sequence[Any]) -> Snapshot:
    v = VolunteerRow(*row)
    return Snapshot(ev.VolunteerState(volunteer_id=v.volunteer_id,
                                      kind=v.kind,  # type: ignore[arg-type]
                                      grid_paths=v.grid_paths, skills=v.skills,
                                      verified=v.verified, max_load=v.max_load, load=v.load,
                                      service_minutes=v.service_minutes,
                                      registered_at=to_timestamp(v.registered_at)),
                    v.volunteer_id, 1, v.jurisdiction_path)


def _pairing_state(row: Sequence[Any]) -> Snapshot:
    p = PairingRow(*row)
    return Snapshot(ev.PairingState(pairing_id=p.pairing_id, person_id=p.person_id,
                                    volunteer_id=p.volunteer_id,
                                    role=p.role,  # type: ignore[arg-type]
                                    started_at=to_timestamp(p.started_at),
                                    ended_at=to_timestamp(p.ended_at), ended=not p.active),
                    p.pairing_id, 1 if p.active else 2, p.jurisdiction_path)


def _care_schedule_state(row: Sequence[Any]) -> Snapshot:
    p = PersonRow(*row)
    return Snapshot(ev.CareScheduleState(person_id=p.person_id,
                                         colour=p.colour,  # type: ignore[arg-type]
                                         colour_set_at=to_timestamp(p.colour_set_at),
                                         last_visit_at=to_timestamp(p.last_visit_at),
                                         next_due_at=to_timestamp(p.next_due_at),
                                         living_alone=p.living_alone),
                    p.person_id, p.colour_version, p.jurisdiction_path)


def _visit_state(row: Sequence[Any]) -> Snapshot:
    visit = VisitRow(*row[:-1])
    return Snapshot(visit_logged(visit), visit.visit_id, 1, row[-1])


SOURCES = [
    SnapshotSource("volunteer", page_by_uuid(VOLUNTEER_COLUMNS, "volunteers", "volunteer_id"),
                   _volunteer_state),
    SnapshotSource("pairing", page_by_uuid(PAIRING_COLUMNS, "pairings", "pairing_id"),
                   _pairing_state),
    # A schedule exists while the person is cared for (a colour) and not archived.
    SnapshotSource("care_schedule", page_by_uuid(PERSON_COLUMNS, "persons", "person_id",
                                          " AND colour > 0 AND NOT archived"),
                   _care_schedule_state),
    SnapshotSource("visit", page_by_uuid(f"{VISIT_COLUMNS}, jurisdiction_path", "visits",
                                         "visit_id"), _visit_state),
]
