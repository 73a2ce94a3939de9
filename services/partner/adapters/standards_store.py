"""The minimum living standard per jurisdiction, from the registry's JurisdictionChanged."""

from __future__ import annotations

from runtime.db import UnitOfWork


async def put(uow: UnitOfWork, path: str, standard_fen: int) -> None:
    await uow.execute(
        "INSERT INTO living_standards (path, standard_fen) VALUES (%s, %s) "
        "ON CONFLICT (path) DO UPDATE SET standard_fen = EXCLUDED.standard_fen",
        [path, standard_fen])


async def nearest(uow: UnitOfWork, path: str) -> int:
    """The standard of the deepest jurisdiction at or above `path` that sets one (0: none)."""
    row = await uow.fetchone(
        "SELECT standard_fen FROM living_standards WHERE starts_with(%s, path) "
        "AND standard_fen > 0 ORDER BY length(path) DESC LIMIT 1", [path])
    return int(row[0]) if row else 0
