"""SQL for person records and their service history, inside the caller's unit of work (so
row-level security limits it to the caller's jurisdictions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from registry.domain.contact import Guardian, Liaison
from registry.domain.person import Need, Person
from runtime import pii
from runtime.auth import SYSTEM
from runtime.db import UnitOfWork
from runtime.pii import aad

# Associated data of the sealed columns (a value opens only in its own column and row).
RESIDENT_ID, CERTIFICATE = "persons.resident_id", "persons.certificate_number"

# ---------------------------------------------------------------- persons

@dataclass
class PersonView:
    """A person with what the record shows from the household and the service history."""

    person: Person
    household_income_fen: int
    address: str
    grid_code: str
    service_history: list[tuple[datetime, str, str, str]]


_P = ("p.person_id::text, p.name, p.resident_id_sealed, p.category, p.grade, p.certified, "
      "p.certificate_sealed, p.household_id::text, p.jurisdiction_path, p.phone, "
      "p.preferred_channel, p.guardian, p.liaison, p.living_situation, p.priority_groups, "
      "p.needs, p.sex, p.birth_date, p.status, p.archive_reason, p.last_verified_at, "
      "p.created_at, p.updated_at, p.version, h.monthly_income_fen, h.address, h.grid_code")
_FROM = "FROM persons p JOIN households h ON h.household_id = p.household_id"


def _person(row: Any) -> PersonView:
    guardian = Guardian(**row[11]) if row[11] else None
    liaison = Liaison(**row[12]) if row[12] else None
    keys = pii.keys()
    person = Person(
        person_id=row[0], name=row[1], resident_id=keys.open(row[2], aad(RESIDENT_ID, row[0])),
        category=row[3], grade=row[4], certified=row[5],
        certificate_number=keys.open(row[6], aad(CERTIFICATE, row[0])) if row[6] else "",
        household_id=row[7],
        jurisdiction_path=row[8], phone=row[9], preferred_channel=row[10], guardian=guardian,
        liaison=liaison, living_situation=row[13], priority_groups=list(row[14]),
        needs=[Need(**n) for n in row[15]], sex=row[16], birth_date=row[17], status=row[18],
        archive_reason=row[19], last_verified_at=row[20], created_at=row[21],
        updated_at=row[22], version=row[23])
    return PersonView(person, row[24], row[25], row[26], [])


async def get_person(uow: UnitOfWork, person_id: str, lock: bool = False,
                     history: bool = True) -> PersonView | None:
    row = await uow.fetchone(f"SELECT {_P} {_FROM} WHERE p.person_id = %s"
                             + (" FOR UPDATE OF p" if lock else ""), [person_id])
    if row is None:
        return None
    view = _person(row)
    if history:
        view.service_history = [tuple(r) for r in await uow.fetchall(  # type: ignore[misc]
            "SELECT occurred_at, kind, description, provider FROM service_records "
            "WHERE person_id = %s ORDER BY occurred_at DESC LIMIT 20", [person_id])]
    return view


async def person_jurisdiction_anywhere(uow: UnitOfWork, person_id: str) -> str | None:
    """Where a person is filed, looked up outside the caller's scope (the path only), so that a
    person outside it is reported as PERMISSION_DENIED rather than NOT_FOUND."""
    await uow.with_scope(SYSTEM)
    try:
        row = await uow.fetchone("SELECT jurisdiction_path FROM persons WHERE person_id = %s",
                                 [person_id])
    finally:
        await uow.with_scope(uow.caller)
    return row[0] if row else None


async def get_person_anywhere(uow: UnitOfWork, person_id: str, lock: bool = False
                              ) -> PersonView | None:
    """A person wherever they are filed, read outside the caller's scope (without the history):
    a record archived in a grid the caller does not cover can be reactivated by the grid the
    person comes back to. The use case decides what the caller may do with it."""
    await uow.with_scope(SYSTEM)
    try:
        return await get_person(uow, person_id, lock=lock, history=False)
    finally:
        await uow.with_scope(uow.caller)


def resident_id_index(resident_id: str) -> bytes:
    """The keyed blind index of a resident ID: one file per person, and exact search."""
    return pii.keys().index(RESIDENT_ID, resident_id.strip().upper())


async def holder_of_resident_id(uow: UnitOfWork, resident_id: str
                                ) -> tuple[str, int, int, str] | None:
    """(person_id, status, archive_reason, jurisdiction path) of the record that holds a
    resident ID, wherever it is filed: the use case decides what the caller may learn of it."""
    await uow.with_scope(SYSTEM)
    try:
        row = await uow.fetchone("SELECT person_id::text, status, archive_reason, "
                                 "jurisdiction_path FROM persons WHERE resident_id_index = %s",
                                 [resident_id_index(resident_id)])
    finally:
        await uow.with_scope(uow.caller)
    return (row[0], row[1], row[2], row[3]) if row else None


def _person_values(p: Person) -> list[Any]:
    keys = pii.keys()
    return [p.name, keys.seal(p.resident_id, aad(RESIDENT_ID, p.person_id)),
            resident_id_index(p.resident_id), p.sex, p.birth_date, p.category, p.grade,
            p.certified,
            keys.seal(p.certificate_number, aad(CERTIFICATE, p.person_id))
            if p.certificate_number else None, p.household_id, p.jurisdiction_path, p.phone,
            p.preferred_channel, Jsonb(p.guardian.__dict__) if p.guardian else None,
            Jsonb(p.liaison.__dict__ if p.liaison else {}), p.living_situation,
            p.priority_groups, Jsonb([n.__dict__ for n in p.needs]), p.need_codes, p.status,
            p.archive_reason, p.last_verified_at, p.version]


_COLUMNS = ("name, resident_id_sealed, resident_id_index, sex, birth_date, category, grade, "
            "certified, certificate_sealed, "
            "household_id, jurisdiction_path, phone, preferred_channel, guardian, liaison, "
            "living_situation, priority_groups, needs, need_codes, status, archive_reason, "
            "last_verified_at, version")


async def insert_person(uow: UnitOfWork, p: Person) -> datetime:
    row = await uow.fetchone(
        f"INSERT INTO persons (person_id, {_COLUMNS}) VALUES ({', '.join(['%s'] * 24)}) "
        "RETURNING created_at", [p.person_id, *_person_values(p)])
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


async def update_person(uow: UnitOfWork, p: Person, archived: bool = False,
                        reactivated: bool = False) -> datetime:
    assignments = ", ".join(f"{c.strip()} = %s" for c in _COLUMNS.split(","))
    row = await uow.fetchone(
        f"UPDATE persons SET {assignments}, updated_at = now()"
        + (", archived_at = now()" if archived else "")
        + (", archived_at = NULL" if reactivated else "")
        + " WHERE person_id = %s RETURNING updated_at", [*_person_values(p), p.person_id])
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


async def write_reactivated(uow: UnitOfWork, p: Person) -> datetime:
    """Writes a reactivated record (active, archived_at cleared, filed under the path of the
    household the person lives in now). The row is still filed where it was archived, possibly
    outside the caller's jurisdictions, so this runs under the system scope: the use case has
    checked that the caller covers the new household."""
    await uow.with_scope(SYSTEM)
    try:
        return await update_person(uow, p, reactivated=True)
    finally:
        await uow.with_scope(uow.caller)


async def rehome_service_records(uow: UnitOfWork, person_id: str, path: str) -> int:
    """Files all of a person's service records under `path`, where the person is filed now, so
    the jurisdiction that has the person sees their history (row-level security filters service
    records by their own path). They may be filed where the caller cannot see (the grid the
    person left), so this runs under the system scope: call it only for a move the use case has
    allowed. Returns how many records moved."""
    await uow.with_scope(SYSTEM)
    try:
        row = await uow.fetchone(
            "WITH moved AS (UPDATE service_records SET jurisdiction_path = %s "
            "WHERE person_id = %s AND jurisdiction_path <> %s RETURNING 1) "
            "SELECT count(*) FROM moved", [path, person_id, path])
    finally:
        await uow.with_scope(uow.caller)
    assert row is not None
    return int(row[0])


async def add_service_record(uow: UnitOfWork, p: Person, occurred_at: datetime, kind: str,
                             description: str, provider: str) -> None:
    await uow.execute(
        "INSERT INTO service_records (person_id, jurisdiction_path, occurred_at, kind, "
        "description, provider) VALUES (%s, %s, %s, %s, %s, %s)",
        [p.person_id, p.jurisdiction_path, occurred_at, kind, description, provider])
