"""SQL fragments every service's store uses."""

from __future__ import annotations

import re
from typing import Any

from runtime.auth import SYSTEM
from runtime.db import UnitOfWork


def in_subtrees(paths: list[str], column: str) -> tuple[str, list[Any]]:
    """SQL for "`column` lies under one of these jurisdiction paths" that can use an index.

    Under FORCE ROW LEVEL SECURITY PostgreSQL evaluates the policy before any condition that is
    not leakproof, so a LIKE here would turn every list into a sequential scan. The pattern
    comparison operators ~>=~ and ~<~ are leakproof and match a text_pattern_ops index: a path
    ends with '/', and '0' is the character after '/', so [path, path[:-1] + '0') is the subtree.
    """
    clause = " OR ".join(f"({column} ~>=~ %s AND {column} ~<~ %s)" for _ in paths)
    params: list[Any] = []
    for path in paths:
        params += [path, path[:-1] + "0"]
    return f"({clause})", params


def in_subtrees_named(paths: list[str], column: str, name: str = "subtree"
                      ) -> tuple[str, dict[str, Any]]:
    """in_subtrees with named parameters, for a query that uses the condition more than once."""
    clause = " OR ".join(f"({column} ~>=~ %({name}{i}_from)s AND {column} ~<~ %({name}{i}_to)s)"
                         for i in range(len(paths)))
    params: dict[str, Any] = {}
    for i, path in enumerate(paths):
        params[f"{name}{i}_from"], params[f"{name}{i}_to"] = path, path[:-1] + "0"
    return f"({clause})", params


_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


async def filed_under(uow: UnitOfWork, table: str, key: str, value: str,
                      extra: str = "") -> str | None:
    """Where a row is filed, whatever the caller's scope (only the path is read), so a record
    outside the caller's jurisdictions is reported as PERMISSION_DENIED rather than NOT_FOUND.
    `table`, `key` and `extra` come from code, never from a caller."""
    if not (_IDENTIFIER.fullmatch(table) and _IDENTIFIER.fullmatch(key)):
        raise ValueError(f"not an identifier: {table}.{key}")
    await uow.with_scope(SYSTEM)
    try:
        row = await uow.fetchone(f"SELECT jurisdiction_path FROM {table} WHERE {key} = %s "
                                 f"{extra}", [value])
    finally:
        await uow.with_scope(uow.caller)
    return str(row[0]) if row else None
