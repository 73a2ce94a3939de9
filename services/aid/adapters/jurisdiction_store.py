"""SQL for the projection of the registry's jurisdictions and their minimum living standards
(moves forward by version only)."""

from __future__ import annotations

from dataclasses import dataclass

from cdsp.events.v1 import registry_pb2 as ev
from runtime.db import UnitOfWork


@dataclass(frozen=True)
class Standard:
    code: str  # the jurisdiction that sets it
    path: str
    fen: int   # per month


async def upsert_jurisdiction(uow: UnitOfWork, j: ev.JurisdictionChanged, version: int) -> bool:
    """Applies a change newer than what is stored; returns False for an older or duplicate one."""
    row = await uow.fetchone(
        "INSERT INTO jurisdictions AS t (code, path, level, minimum_living_standard_fen, "
        "version) VALUES (%s, %s, %s, %s, %s) ON CONFLICT (code) DO UPDATE SET "
        "path = EXCLUDED.path, level = EXCLUDED.level, "
        "minimum_living_standard_fen = EXCLUDED.minimum_living_standard_fen, "
        "version = EXCLUDED.version, updated_at = now() "
        "WHERE t.version < EXCLUDED.version RETURNING 1",
        [j.code, j.path, j.level, j.minimum_living_standard_fen, version])
    return row is not None


async def living_standard(uow: UnitOfWork, paths: list[str]) -> Standard | None:
    """The standard of the deepest of these jurisdictions that sets one (more than 0)."""
    row = await uow.fetchone(
        "SELECT code, path, minimum_living_standard_fen FROM jurisdictions "
        "WHERE path = ANY(%s) AND minimum_living_standard_fen > 0 "
        "ORDER BY level DESC, length(path) DESC LIMIT 1", [paths])
    return Standard(*row) if row else None
