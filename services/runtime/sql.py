"""SQL fragments every service's store uses."""

from __future__ import annotations

from typing import Any


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
