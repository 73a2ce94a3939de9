"""The notification service's contacts move apart (migration 0002) on a real PostgreSQL: what the
recipients held is carried into recipient_contacts at its version (an archived person's erased),
and the recipients keep no name, phone or guardian."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg

import devstack
from runtime.migrations import apply_migrations

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "notification" / "migrations"
PATH = "/N1/N1-d/N1-s/N1-c/N1-g1/"
ACTIVE = "00000000-0000-4000-8000-0000000000e1"
ARCHIVED = "00000000-0000-4000-8000-0000000000e2"


async def test_contacts_are_carried_across_and_archived_ones_erased(stack: devstack.Stack,
                                                                    tmp_path: Path) -> None:
    url = devstack.scratch_database(stack, "notification_contacts")
    before = tmp_path / "before"
    before.mkdir()
    shutil.copy(MIGRATIONS / "0001_recipients_notices.sql", before)
    assert len(await apply_migrations(url, [("notification", before)])) == 1
    with psycopg.connect(url) as conn, conn.transaction():
        conn.execute("SELECT set_config('cdsp.scope', '/%', true)")
        for person_id, archived, version in ((ACTIVE, False, 3), (ARCHIVED, True, 5)):
            conn.execute(
                "INSERT INTO recipients (person_id, household_id, jurisdiction_path, "
                "display_name, category, preferred_channel, phone, guardian_name, "
                "guardian_phone, liaison_id, archived, version) VALUES (%s, gen_random_uuid(), "
                "%s, '旧名', 1, 2, '13900000001', '旧监护', '13900000002', 'gw', %s, %s)",
                [person_id, PATH, archived, version])

    applied = await apply_migrations(url, [("notification", MIGRATIONS)])
    assert "notification/0002_contacts_apart.sql" in applied

    with psycopg.connect(url) as conn, conn.transaction():
        conn.execute("SELECT set_config('cdsp.scope', '/%', true)")
        contacts = conn.execute(
            "SELECT person_id::text, jurisdiction_path, name, phone, preferred_channel, "
            "guardian_name, guardian_phone, erased, version FROM recipient_contacts "
            "ORDER BY person_id").fetchall()
        columns = {r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'recipients'").fetchall()}
        recipients = conn.execute("SELECT count(*) FROM recipients").fetchone()
    assert contacts == [
        (ACTIVE, PATH, "旧名", "13900000001", 2, "旧监护", "13900000002", False, 3),
        (ARCHIVED, PATH, "", "", 0, "", "", True, 5)]
    assert recipients == (2,)
    assert not columns & {"display_name", "phone", "preferred_channel", "guardian_name",
                          "guardian_phone"}
    # Row-level security holds for the contacts too: outside the scope, nothing.
    with psycopg.connect(url) as conn, conn.transaction():
        conn.execute("SELECT set_config('cdsp.scope', '/N2/%', true)")
        assert conn.execute("SELECT count(*) FROM recipient_contacts").fetchone() == (0,)
