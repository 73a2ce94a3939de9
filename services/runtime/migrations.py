"""Plain-SQL migrations, applied in name order at start-up and recorded in schema_migrations.

Each file runs in its own transaction. A file already applied is never run again; if its content
changed since, start-up fails (a migration is history: write a new one instead). An advisory lock
makes concurrent replicas apply them once.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from psycopg import AsyncConnection

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
                    checksum = hashlib.sha256(sql.encode()).hexdigest()
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
