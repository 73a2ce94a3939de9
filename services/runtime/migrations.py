"""Plain-SQL migrations, applied in name order and recorded in schema_migrations.

Each file runs in its own transaction. A file already applied is never run again; if its content
changed since, applying fails (a migration is history: write a new one instead). An advisory lock
makes concurrent replicas apply them once. A file's checksum is taken over its text with newlines
normalised (`migration_checksum`, the same when applying and when checking), so a checkout with
CRLF line endings is the same migration as one with LF.

Two ways to run them: a service applies them at start-up (CDSP_MIGRATE_ON_START, the default:
one role owns the tables and serves), or a deployment's migration step applies them as the
tables' owner and grants the serving role only what it needs (runtime.migrate_cli with
CDSP_DB_APP_ROLE); the service then only checks that its schema is current (`check_migrations`).
A serving role that does not own the tables cannot switch their row-level security off, drop a
policy or change the schema, whatever SQL reaches it.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from psycopg import AsyncConnection, sql

log = logging.getLogger("cdsp.migrations")
RUNTIME_MIGRATIONS = Path(__file__).parent / "migrations"
LOCK_KEY = 0x0CD5_0001


class MigrationError(RuntimeError):
    pass


async def apply_migrations(url: str, sources: list[tuple[str, Path]]) -> list[str]:
    """Applies what is new from each (prefix, folder); returns the names it applied."""
    applied: list[str] = []
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, "
                "checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
            done: dict[str, str] = dict(await (await conn.execute(
                "SELECT name, checksum FROM schema_migrations")).fetchall())
            for prefix, folder in sources:
                for path in sorted(folder.glob("*.sql")):
                    name = f"{prefix}/{path.name}"
                    sql = path.read_text(encoding="utf-8")
                    checksum = migration_checksum(sql)
                    if name in done:
                        if done[name] != checksum:
                            raise MigrationError(f"migration {name} changed after it was applied")
                        continue
                    async with conn.transaction():
                        await conn.execute(sql.encode())
                        await conn.execute("INSERT INTO schema_migrations (name, checksum) "
                                           "VALUES (%s, %s)", [name, checksum])
                    log.info("applied migration %s", name)
                    applied.append(name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
    return applied


def migration_checksum(sql: str) -> str:
    """What schema_migrations records for a file and what a check compares with, from its text
    as read_text reads it (universal newlines: CRLF and CR become LF): SHA-256 of that text in
    UTF-8, which is what every database in use recorded, so their checksums stay valid."""
    return hashlib.sha256(sql.encode()).hexdigest()


def _planned(sources: list[tuple[str, Path]]) -> dict[str, str]:
    """Every migration file's name and checksum, in the order they apply."""
    out: dict[str, str] = {}
    for prefix, folder in sources:
        for path in sorted(folder.glob("*.sql")):
            out[f"{prefix}/{path.name}"] = migration_checksum(path.read_text(encoding="utf-8"))
    return out


async def check_migrations(url: str, sources: list[tuple[str, Path]]) -> None:
    """Raises MigrationError unless every migration was applied, unchanged (read-only)."""
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        found = await (await conn.execute("SELECT to_regclass('schema_migrations')")).fetchone()
        done: dict[str, str] = {}
        if found is not None and found[0] is not None:
            done = dict(await (await conn.execute(
                "SELECT name, checksum FROM schema_migrations")).fetchall())
    planned = _planned(sources)
    missing = [name for name in planned if name not in done]
    changed = [name for name, checksum in planned.items()
               if name in done and done[name] != checksum]
    if missing or changed:
        raise MigrationError(
            f"the database schema is not current (missing: {', '.join(missing) or 'none'}; "
            f"changed: {', '.join(changed) or 'none'}): run the migration step "
            f"(python -m runtime.migrate_cli <service>) first")


async def grant_to(url: str, role: str) -> None:
    """Lets `role` (the serving role) read and write the rows of every table and use every
    sequence, but not change the schema or the migrations record, nor change the audit log.
    Idempotent."""
    name = sql.Identifier(role)
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        exists = await (await conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s",
                                           [role])).fetchone()
        if exists is None:
            raise MigrationError(f"role {role!r} (CDSP_DB_APP_ROLE) does not exist")
        async with conn.transaction():
            for statement in (
                    "GRANT USAGE ON SCHEMA public TO {}",
                    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}",
                    "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {}",
                    "REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM {}",
                    # the audit log: appended to, read, and expired only past its retention
                    "REVOKE UPDATE, TRUNCATE ON audit_log FROM {}"):
                await conn.execute(sql.SQL(statement).format(name))
