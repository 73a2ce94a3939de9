"""Migrations: applied once, recorded, and refused when an applied file was edited; checked
(CDSP_MIGRATE_ON_START=false) with the same checksum they were recorded with."""

from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg
import pytest

import devstack
from runtime.migrations import MigrationError, apply_migrations, check_migrations


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


async def test_a_crlf_checkout_checks_as_applied(stack: devstack.Stack, tmp_path: Path) -> None:
    """A checkout with CRLF line endings (git's autocrlf on Windows, a zip of the repository):
    what apply_migrations recorded is what check_migrations finds, so a service started with
    CDSP_MIGRATE_ON_START=false serves; an edited file is still refused."""
    url = devstack.scratch_database(stack, "migrations_crlf")
    migration = tmp_path / "0001_crlf.sql"
    migration.write_bytes(b"CREATE TABLE crlf_table (\r\n  id int\r\n);\r\n")
    assert await apply_migrations(url, [("demo", tmp_path)]) == ["demo/0001_crlf.sql"]
    await check_migrations(url, [("demo", tmp_path)])
    # Recorded as databases in use recorded theirs: sha256 of the text, newlines normalised.
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT checksum FROM schema_migrations WHERE name = %s",
                            ["demo/0001_crlf.sql"]).fetchone() == (
            hashlib.sha256(b"CREATE TABLE crlf_table (\n  id int\n);\n").hexdigest(),)

    # The same file with LF endings (the usual checkout) is the same migration, both ways.
    migration.write_bytes(b"CREATE TABLE crlf_table (\n  id int\n);\n")
    await check_migrations(url, [("demo", tmp_path)])
    assert await apply_migrations(url, [("demo", tmp_path)]) == []

    migration.write_bytes(b"CREATE TABLE crlf_table (\r\n  id bigint\r\n);\r\n")
    with pytest.raises(MigrationError, match=r"changed: demo/0001_crlf\.sql"):
        await check_migrations(url, [("demo", tmp_path)])
    with pytest.raises(MigrationError, match=r"0001_crlf\.sql changed"):
        await apply_migrations(url, [("demo", tmp_path)])

