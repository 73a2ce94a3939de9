"""The aid service's data migrations on a real PostgreSQL: rows written under the earlier schema
are carried across (by the tables' owner, itself under row-level security): a case's required
actions out of their jsonb list, and what each case was granted in relief."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

import devstack
from runtime.migrations import apply_migrations

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "aid" / "migrations"
PATH = "/M1/M1-d/M1-s/M1-c/M1-g1/"
HOUSEHOLD = "00000000-0000-4000-8000-0000000000a1"
OPEN_CASE = "00000000-0000-4000-8000-0000000000c1"
RESOLVED_CASE = "00000000-0000-4000-8000-0000000000c2"
T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def _upto(folder: Path, last: str) -> Path:
    folder.mkdir()
    for path in sorted(MIGRATIONS.glob("*.sql")):
        if path.name <= last:
            shutil.copy(path, folder / path.name)
    return folder


async def test_case_actions_and_relief_totals_are_carried_across(stack: devstack.Stack,
                                                                  tmp_path: Path) -> None:
    url = devstack.scratch_database(stack, "aid_data_migrations")
    before = _upto(tmp_path / "before", "0005_kits_sickbed.sql")
    assert len(await apply_migrations(url, [("aid", before)])) == 5
    with psycopg.connect(url) as conn, conn.transaction():
        conn.execute("SELECT set_config('cdsp.scope', '/%', true)")
        conn.execute("INSERT INTO households (household_id, jurisdiction_path, "
                     "monthly_income_fen, version) VALUES (%s, %s, 100000, 1)",
                     [HOUSEHOLD, PATH])
        for case_id, status, actions in (
                (OPEN_CASE, 1, [("supermarket_supplies", T0 + timedelta(hours=72)),
                                ("community_intervention", T0 + timedelta(hours=24)),
                                ("insurance_referral", T0 + timedelta(days=7))]),
                (RESOLVED_CASE, 2, [("charity_relief", T0 + timedelta(hours=48))])):
            conn.execute("INSERT INTO aid_cases (case_id, household_id, jurisdiction_path, "
                         "level, status, actions) VALUES (%s, %s, %s, 3, %s, %s)",
                         [case_id, HOUSEHOLD, PATH, status,
                          Jsonb([{"action": a, "due_at": due.isoformat()}
                                 for a, due in actions])])
        for case_id, amount, granted in ((OPEN_CASE, 50_000, True), (OPEN_CASE, 30_000, True),
                                         (OPEN_CASE, 100_000, False), (None, 20_000, True)):
            conn.execute("INSERT INTO relief_ledger (decision_id, household_id, "
                         "jurisdiction_path, community_path, year, case_id, amount_fen, granted, "
                         "cap_fen, budget_remaining_fen, reason, decided_by) VALUES "
                         "(gen_random_uuid(), %s, %s, %s, 2026, %s, %s, %s, 139500, 0, 'r', 'x')",
                         [HOUSEHOLD, PATH, "/M1/M1-d/M1-s/M1-c/", case_id, amount, granted])

    applied = await apply_migrations(url, [("aid", MIGRATIONS)])
    assert {"aid/0006_case_actions.sql", "aid/0008_relief_per_case.sql"} <= set(applied)

    with psycopg.connect(url) as conn, conn.transaction():
        conn.execute("SELECT set_config('cdsp.scope', '/%', true)")
        rows = conn.execute(
            "SELECT case_id::text, action, position, jurisdiction_path, due_at, completed_at, "
            "breached, case_resolved FROM case_actions ORDER BY case_id, position").fetchall()
        totals = conn.execute("SELECT case_id::text, relief_granted_fen FROM aid_cases "
                              "ORDER BY case_id").fetchall()
        ledger = conn.execute("SELECT count(*) FROM relief_ledger").fetchone()
        columns = {r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'aid_cases'").fetchall()}
    assert rows == [
        (OPEN_CASE, "supermarket_supplies", 1, PATH, T0 + timedelta(hours=72), None, False,
         False),
        (OPEN_CASE, "community_intervention", 2, PATH, T0 + timedelta(hours=24), None, False,
         False),
        (OPEN_CASE, "insurance_referral", 3, PATH, T0 + timedelta(days=7), None, False, False),
        (RESOLVED_CASE, "charity_relief", 1, PATH, T0 + timedelta(hours=48), None, False,
         True),
    ]
    assert "actions" not in columns  # one place for the actions: their table
    # What each case was granted before (refusals and grants on no case do not count); the
    # earlier decision on no case stays in the ledger.
    assert totals == [(OPEN_CASE, 80_000), (RESOLVED_CASE, 0)]
    assert ledger == (4,)
