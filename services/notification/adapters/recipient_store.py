"""SQL for the projection of residents as recipients (moves forward by version only), their
contacts (apart: from the registry's restricted contacts topic, each moving forward by the
person's version on its own), their app links, and the e-mail contacts of workers and grid
teams."""

from __future__ import annotations

from dataclasses import dataclass

from cdsp.events.v1 import registry_pb2 as ev
from runtime.db import UnitOfWork
from runtime.sql import filed_under

# A contact that has not arrived (or was erased) reads as empty: has_contact says which.
RECIPIENT_COLUMNS = ("r.person_id::text, r.household_id::text, r.jurisdiction_path, "
                     "coalesce(c.name, ''), r.category, coalesce(c.preferred_channel, 0), "
                     "coalesce(c.phone, ''), coalesce(c.guardian_name, ''), "
                     "coalesce(c.guardian_phone, ''), r.liaison_id, "
                     "(a.person_id IS NOT NULL) AS has_app, "
                     "(c.person_id IS NOT NULL AND NOT c.erased) AS has_contact")
RECIPIENTS = ("recipients r LEFT JOIN recipient_contacts c ON c.person_id = r.person_id "
              "LEFT JOIN app_links a ON a.person_id = r.person_id")


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
    has_contact: bool


async def upsert(uow: UnitOfWork, p: ev.PersonSnapshot, version: int) -> bool:
    """Applies a snapshot newer than what is stored (an archive's too: a versioned tombstone
    that an older registration cannot overwrite); returns False for a stale one. A resident
    whose path changed takes their notices and their contact along (`rehome`)."""
    row = await uow.fetchone(
        "WITH old AS (SELECT jurisdiction_path FROM recipients WHERE person_id = %(id)s), "
        "up AS (INSERT INTO recipients AS t (person_id, household_id, jurisdiction_path, "
        "  category, liaison_id, archived, version) VALUES (%(id)s, %(household)s, %(path)s, "
        "  %(category)s, %(liaison)s, %(archived)s, %(version)s) "
        "  ON CONFLICT (person_id) DO UPDATE SET household_id = EXCLUDED.household_id, "
        "  jurisdiction_path = EXCLUDED.jurisdiction_path, category = EXCLUDED.category, "
        "  liaison_id = EXCLUDED.liaison_id, archived = EXCLUDED.archived, "
        "  version = EXCLUDED.version, updated_at = now() "
        "  WHERE t.version < EXCLUDED.version RETURNING 1) "
        "SELECT EXISTS (SELECT 1 FROM up), (SELECT jurisdiction_path FROM old)",
        {"id": p.person_id, "household": p.household_id, "path": p.jurisdiction_path,
         "category": p.category, "liaison": p.liaison_id, "archived": p.archived,
         "version": version})
    assert row is not None
    applied, old_path = bool(row[0]), row[1]
    if applied and old_path is not None and old_path != p.jurisdiction_path:
        await rehome(uow, [(p.person_id, p.jurisdiction_path)])
    return applied


async def upsert_contact(uow: UnitOfWork, c: ev.PersonContact, version: int, path: str
                         ) -> bool:
    """Applies a contact newer than the one stored; an erased one keeps its version with every
    field empty (a late older contact cannot bring a number back). Filed where the person's
    record is, when it is known (the contact's own path may be older than a move)."""
    erased = c.erased
    row = await uow.fetchone(
        "INSERT INTO recipient_contacts AS t (person_id, jurisdiction_path, name, phone, "
        "  preferred_channel, guardian_name, guardian_phone, erased, version) VALUES (%(id)s, "
        "  coalesce((SELECT jurisdiction_path FROM recipients WHERE person_id = %(id)s), "
        "  %(path)s), %(name)s, %(phone)s, %(channel)s, %(guardian_name)s, %(guardian_phone)s, "
        "  %(erased)s, %(version)s) "
        "ON CONFLICT (person_id) DO UPDATE SET name = EXCLUDED.name, phone = EXCLUDED.phone, "
        "  preferred_channel = EXCLUDED.preferred_channel, "
        "  guardian_name = EXCLUDED.guardian_name, guardian_phone = EXCLUDED.guardian_phone, "
        "  erased = EXCLUDED.erased, version = EXCLUDED.version, updated_at = now() "
        "  WHERE t.version < EXCLUDED.version RETURNING 1",
        {"id": c.person_id, "path": path, "name": "" if erased else c.name,
         "phone": "" if erased else c.phone, "channel": 0 if erased else c.preferred_channel,
         "guardian_name": "" if erased else c.guardian_name,
         "guardian_phone": "" if erased else c.guardian_phone, "erased": erased,
         "version": version})
    return row is not None


async def rehome(uow: UnitOfWork, moves: list[tuple[str, str]]) -> None:
    """Residents who moved take the notices made for them and their guardians (and those
    notices' deliveries), and their contact, to their new jurisdiction, in one statement.
    Notices for workers and grid teams stay with the workers who received them."""
    await uow.execute(
        "WITH moved AS (SELECT * FROM unnest(%s::text[], %s::text[]) AS m(person_id, path)), "
        "notices AS (UPDATE notices x SET jurisdiction_path = m.path FROM moved m "
        "  WHERE x.recipient_id = m.person_id AND x.recipient_kind IN ('resident', 'guardian') "
        "  AND x.jurisdiction_path <> m.path RETURNING x.notice_id, m.path), "
        "deliveries AS (UPDATE deliveries d SET jurisdiction_path = n.path FROM notices n "
        "  WHERE d.notice_id = n.notice_id RETURNING 1), "
        "contacts AS (UPDATE recipient_contacts c SET jurisdiction_path = m.path FROM moved m "
        "  WHERE c.person_id = m.person_id::uuid AND c.jurisdiction_path <> m.path RETURNING 1) "
        "SELECT (SELECT count(*) FROM notices), (SELECT count(*) FROM deliveries), "
        "(SELECT count(*) FROM contacts)",
        [[m[0] for m in moves], [m[1] for m in moves]])


async def archive(uow: UnitOfWork, person_id: str, version: int) -> bool:
    """For an archive event without its snapshot (published before archives carried one)."""
    row = await uow.fetchone(
        "UPDATE recipients SET archived = true, version = %s, updated_at = now() "
        "WHERE person_id = %s AND version < %s RETURNING 1", [version, person_id, version])
    return row is not None


async def known(uow: UnitOfWork, person_ids: list[str]) -> set[str]:
    """Which of these persons the projection holds, archived ones included."""
    rows = await uow.fetchall("SELECT person_id::text FROM recipients "
                              "WHERE person_id = ANY(%s::uuid[])", [person_ids])
    return {r[0] for r in rows}


async def household_known(uow: UnitOfWork, household_id: str) -> bool:
    """Whether any member of the household (archived ones included) is held."""
    row = await uow.fetchone("SELECT 1 FROM recipients WHERE household_id = %s LIMIT 1",
                             [household_id])
    return row is not None


def _row(values: tuple[object, ...]) -> RecipientRow:
    return RecipientRow(*values)  # type: ignore[arg-type]


async def get(uow: UnitOfWork, person_id: str) -> RecipientRow | None:
    row = await uow.fetchone(
        f"SELECT {RECIPIENT_COLUMNS} FROM {RECIPIENTS} "
        "WHERE r.person_id = %s AND NOT r.archived", [person_id])
    return _row(row) if row else None


async def get_many(uow: UnitOfWork, person_ids: list[str]) -> list[RecipientRow]:
    rows = await uow.fetchall(
        f"SELECT {RECIPIENT_COLUMNS} FROM {RECIPIENTS} "
        "WHERE r.person_id = ANY(%s::uuid[]) AND NOT r.archived ORDER BY r.person_id",
        [person_ids])
    return [_row(r) for r in rows]


async def household_members(uow: UnitOfWork, household_id: str) -> list[RecipientRow]:
    rows = await uow.fetchall(
        f"SELECT {RECIPIENT_COLUMNS} FROM {RECIPIENTS} "
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


async def contact_path_anywhere(uow: UnitOfWork, recipient_id: str) -> str | None:
    """Where a worker's or grid team's contact is filed now, whatever the caller's scope."""
    return await filed_under(uow, "worker_contacts", "recipient_id", recipient_id)


async def contact_emails(uow: UnitOfWork, recipient_ids: list[str]) -> dict[str, str]:
    rows = await uow.fetchall("SELECT recipient_id, email FROM worker_contacts "
                              "WHERE recipient_id = ANY(%s)", [recipient_ids])
    return {str(r[0]): str(r[1]) for r in rows}
