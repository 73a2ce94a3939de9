"""SQL for the projection of residents as recipients (moves forward by version only), their app
links, and the e-mail contacts of workers and grid teams."""

from __future__ import annotations

from dataclasses import dataclass

from cdsp.events.v1 import registry_pb2 as ev
from runtime.db import UnitOfWork
from runtime.sql import filed_under

RECIPIENT_COLUMNS = ("r.person_id::text, r.household_id::text, r.jurisdiction_path, "
                     "r.display_name, r.category, r.preferred_channel, r.phone, "
                     "r.guardian_name, r.guardian_phone, r.liaison_id, "
                     "(a.person_id IS NOT NULL) AS has_app")


@dataclass(frozen=True)
class RecipientRow:
    person_id: str
    household_id: str
    jurisdiction_path: str
    display_name: str
    category: int
    preferred_channel: int
    phone: str
    guardian_name: str
    guardian_phone: str
    liaison_id: str
    has_app: bool


async def upsert(uow: UnitOfWork, p: ev.PersonSnapshot, version: int) -> bool:
    """Applies a snapshot newer than what is stored; returns False for a stale one."""
    row = await uow.fetchone(
        "INSERT INTO recipients AS t (person_id, household_id, jurisdiction_path, display_name, "
        "category, preferred_channel, phone, guardian_name, guardian_phone, liaison_id, "
        "archived, version) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (person_id) DO UPDATE SET household_id = EXCLUDED.household_id, "
        "jurisdiction_path = EXCLUDED.jurisdiction_path, display_name = EXCLUDED.display_name, "
        "category = EXCLUDED.category, preferred_channel = EXCLUDED.preferred_channel, "
        "phone = EXCLUDED.phone, guardian_name = EXCLUDED.guardian_name, "
        "guardian_phone = EXCLUDED.guardian_phone, liaison_id = EXCLUDED.liaison_id, "
        "archived = EXCLUDED.archived, version = EXCLUDED.version, updated_at = now() "
        "WHERE t.version < EXCLUDED.version RETURNING 1",
        [p.person_id, p.household_id, p.jurisdiction_path, p.name, p.category,
         p.preferred_channel, p.phone, p.guardian_name, p.guardian_phone, p.liaison_id,
         p.archived, version])
    return row is not None


async def archive(uow: UnitOfWork, person_id: str, version: int) -> bool:
    row = await uow.fetchone(
        "UPDATE recipients SET archived = true, version = %s, updated_at = now() "
        "WHERE person_id = %s AND version < %s RETURNING 1", [version, person_id, version])
    return row is not None


def _row(values: tuple[object, ...]) -> RecipientRow:
    return RecipientRow(*values)  # type: ignore[arg-type]


async def get(uow: UnitOfWork, person_id: str) -> RecipientRow | None:
    row = await uow.fetchone(
        f"SELECT {RECIPIENT_COLUMNS} FROM recipients r LEFT JOIN app_links a USING (person_id) "
        "WHERE r.person_id = %s AND NOT r.archived", [person_id])
    return _row(row) if row else None


async def get_many(uow: UnitOfWork, person_ids: list[str]) -> list[RecipientRow]:
    rows = await uow.fetchall(
        f"SELECT {RECIPIENT_COLUMNS} FROM recipients r LEFT JOIN app_links a USING (person_id) "
        "WHERE r.person_id = ANY(%s::uuid[]) AND NOT r.archived ORDER BY r.person_id",
        [person_ids])
    return [_row(r) for r in rows]


async def household_members(uow: UnitOfWork, household_id: str) -> list[RecipientRow]:
    rows = await uow.fetchall(
        f"SELECT {RECIPIENT_COLUMNS} FROM recipients r LEFT JOIN app_links a USING (person_id) "
        "WHERE r.household_id = %s AND NOT r.archived ORDER BY r.person_id", [household_id])
    return [_row(r) for r in rows]


async def path_anywhere(uow: UnitOfWork, person_id: str) -> str | None:
    """Where a person is, whatever the caller's scope (for NOT_FOUND vs PERMISSION_DENIED)."""
    return await filed_under(uow, "recipients", "person_id", person_id, "AND NOT archived")


async def link_app(uow: UnitOfWork, person_id: str, linked: bool, by: str) -> None:
    if linked:
        await uow.execute("INSERT INTO app_links (person_id, linked_by) VALUES (%s, %s) "
                          "ON CONFLICT (person_id) DO UPDATE SET linked_at = now(), "
                          "linked_by = EXCLUDED.linked_by", [person_id, by])
    else:
        await uow.execute("DELETE FROM app_links WHERE person_id = %s", [person_id])


@dataclass(frozen=True)
class ContactRow:
    recipient_id: str
    jurisdiction_path: str
    email: str
    updated_at: object


async def set_contact(uow: UnitOfWork, recipient_id: str, path: str, email: str
                      ) -> ContactRow | None:
    if not email:
        await uow.execute("DELETE FROM worker_contacts WHERE recipient_id = %s", [recipient_id])
        return None
    row = await uow.fetchone(
        "INSERT INTO worker_contacts (recipient_id, jurisdiction_path, email) VALUES (%s, %s, %s)"
        " ON CONFLICT (recipient_id) DO UPDATE SET jurisdiction_path = EXCLUDED.jurisdiction_path,"
        " email = EXCLUDED.email, updated_at = now() "
        "RETURNING recipient_id, jurisdiction_path, email, updated_at",
        [recipient_id, path, email])
    assert row is not None
    return ContactRow(*row)


async def contact_emails(uow: UnitOfWork, recipient_ids: list[str]) -> dict[str, str]:
    rows = await uow.fetchall("SELECT recipient_id, email FROM worker_contacts "
                              "WHERE recipient_id = ANY(%s)", [recipient_ids])
    return {str(r[0]): str(r[1]) for r in rows}
