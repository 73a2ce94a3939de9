"""Migrations: applied once, recorded, and refused when an applied file was edited."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

import devstack
from runtime.migrations import MigrationError, apply_migrations


async def test_applied_once_and_edits_refused(stack: devstack.Stack, tmp_path: Path) -> None:
    url = devstack.scratch_database(stack, "migrations")
    (tmp_path / "0001_first.sql").write_text("CREATE TABLE first_table (id int);")
    assert await apply_migrations(url, [("demo", tmp_path)]) == ["demo/0001_first.sql"]
    (tmp_path / "0002_second.sql").write_text("CREATE TABLE second_table (id int);")
    assert await apply_migrations(url, [("demo", tmp_path)]) == ["demo/0002_second.sql"]
    assert await apply_migrations(url, [("demo", tmp_path)]) == []

    (tmp_path / "0003_broken.sql").write_text("CREATE TABLE third (id int); SELECT nonsense;")
    with pytest.raises(psycopg.errors.UndefinedColumn):
        await apply_migrations(url, [("demo", tmp_path)])
    with psycopg.connect(url) as conn:  # the failed file left nothing behind
        assert conn.execute("SELECT to_regclass('third')").fetchone() == (None,)
    (tmp_path / "0003_broken.sql").unlink()

    (tmp_path / "0001_first.sql").write_text("CREATE TABLE first_table (id bigint);")
    with pytest.raises(MigrationError, match=r"0001_first\.sql changed"):
        await apply_migrations(url, [("demo", tmp_path)])
