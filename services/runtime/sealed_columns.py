"""A service's sealed columns (runtime.pii), and the two jobs run over them: sealing plaintext
left by rows written before encryption, and re-encrypting under the active key (rotation).

A service lists its columns in `<service>/sealed.py` as SEALED; `runtime.pii_cli` runs the jobs
from the command line, and a service seals leftover plaintext at start-up (`seal_plaintext`)
before it serves. Both work in pages, each its own transaction, under the system scope.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from psycopg import sql

from runtime.auth import SYSTEM
from runtime.db import Database
from runtime.pii import PiiKeys, aad

PAGE = 500


@dataclass(frozen=True)
class SealedColumn:
    table: str
    row_id: str         # the key column (its text is the associated data's row id)
    sealed: str         # bytea: the sealed value
    purpose: str        # the associated data's column name, and the blind index's purpose
    plaintext: str = ""  # the legacy plaintext column, if rows from before sealing may hold it
    index: str = ""     # the blind-index column, if the value is indexed

    def kid_sql(self) -> sql.Composed:
        """The key id a sealed value carries (bytes 3.. of it, length in byte 2), in SQL."""
        col = sql.Identifier(self.sealed)
        return sql.SQL("convert_from(substring({c} from 3 for get_byte({c}, 1)), 'SQL_ASCII')"
                       ).format(c=col)


def sealed_of(service: str) -> list[SealedColumn]:
    if not service.isidentifier() or service == "runtime":
        raise ValueError(f"not a service package name: {service!r}")
    found = getattr(importlib.import_module(f"{service}.sealed"), "SEALED", None)
    if not isinstance(found, list):
        raise ValueError(f"{service}.sealed has no SEALED list")
    return found


async def status(db: Database, columns: list[SealedColumn]) -> list[tuple[str, str, int]]:
    """(table.column, key id or 'plaintext', rows) for every sealed column."""
    out: list[tuple[str, str, int]] = []
    async with db.unit_of_work(SYSTEM) as uow:
        for c in columns:
            q = sql.SQL("SELECT {kid}, count(*) FROM {t} WHERE {s} IS NOT NULL GROUP BY 1 "
                        "ORDER BY 1").format(kid=c.kid_sql(), t=sql.Identifier(c.table),
                                             s=sql.Identifier(c.sealed))
            for kid, n in await uow.fetchall(q.as_string()):
                out.append((f"{c.table}.{c.sealed}", kid, int(n)))
            if c.plaintext:
                q = sql.SQL("SELECT count(*) FROM {t} WHERE {p} IS NOT NULL").format(
                    t=sql.Identifier(c.table), p=sql.Identifier(c.plaintext))
                row = await uow.fetchone(q.as_string())
                if row and row[0]:
                    out.append((f"{c.table}.{c.plaintext}", "plaintext", int(row[0])))
    return out


async def seal_plaintext(db: Database, keys: PiiKeys, columns: list[SealedColumn],
                         page: int = PAGE) -> int:
    """Seals (and indexes) what legacy plaintext columns still hold, then empties them: every
    column of a row in one statement (a table may refuse a row half sealed). Returns rows."""
    done = 0
    tables: dict[str, list[SealedColumn]] = {}
    for c in columns:
        if c.plaintext:
            tables.setdefault(c.table, []).append(c)
    for table, cols in tables.items():
        t, rid = sql.Identifier(table), sql.Identifier(cols[0].row_id)
        plain = [sql.Identifier(c.plaintext) for c in cols]
        pick = sql.SQL("SELECT {id}::text, {cols} FROM {t} WHERE {any} ORDER BY {id} LIMIT %s "
                       "FOR UPDATE").format(
            id=rid, t=t, cols=sql.SQL(", ").join(plain),
            any=sql.SQL(" OR ").join(sql.SQL("{} IS NOT NULL").format(p) for p in plain))
        while True:
            async with db.unit_of_work(SYSTEM) as uow:
                rows = await uow.fetchall(pick.as_string(), [page])
                for row_id, *values in rows:
                    sets, params = [], []
                    for c, value in zip(cols, values, strict=True):
                        if value is None:
                            continue
                        sets += [sql.SQL("{} = %s").format(sql.Identifier(c.sealed)),
                                 sql.SQL("{} = NULL").format(sql.Identifier(c.plaintext))]
                        params.append(keys.seal(value, aad(c.purpose, row_id)))
                        if c.index:
                            sets.append(sql.SQL("{} = %s").format(sql.Identifier(c.index)))
                            params.append(keys.index(c.purpose, value.strip().upper()))
                    write = sql.SQL("UPDATE {t} SET {sets} WHERE {id} = %s").format(
                        t=t, sets=sql.SQL(", ").join(sets), id=rid)
                    await uow.execute(write.as_string(), [*params, row_id])
            done += len(rows)
            if len(rows) < page:
                break
    return done


async def reencrypt(db: Database, keys: PiiKeys, columns: list[SealedColumn],
                    page: int = PAGE) -> int:
    """Re-seals under the active key every value sealed under another one."""
    done = 0
    for c in columns:
        ident = {"t": sql.Identifier(c.table), "id": sql.Identifier(c.row_id),
                 "s": sql.Identifier(c.sealed)}
        pick = sql.SQL("SELECT {id}::text, {s} FROM {t} WHERE {s} IS NOT NULL AND {kid} <> %s "
                       "ORDER BY {id} LIMIT %s FOR UPDATE").format(kid=c.kid_sql(), **ident)
        write = sql.SQL("UPDATE {t} SET {s} = %s WHERE {id} = %s").format(**ident)
        while True:
            async with db.unit_of_work(SYSTEM) as uow:
                rows = await uow.fetchall(pick.as_string(), [keys.active, page])
                for row_id, sealed in rows:
                    value = keys.open(bytes(sealed), aad(c.purpose, row_id))
                    await uow.execute(write.as_string(),
                                      [keys.seal(value, aad(c.purpose, row_id)), row_id])
            done += len(rows)
            if len(rows) < page:
                break
    return done
