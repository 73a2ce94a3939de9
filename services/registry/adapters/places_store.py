"""SQL for the jurisdiction tree and households. Every function runs inside the caller's unit of
work, so row-level security limits households to the caller's jurisdictions."""

from __future__ import annotations

from registry.domain.household import Household, Jurisdiction
from runtime.auth import SYSTEM
from runtime.db import UnitOfWork

# ---------------------------------------------------------------- jurisdictions

_JUR = ("code, name, level, coalesce(parent_code, ''), path, minimum_living_standard_fen, "
        "version")


async def get_jurisdiction(uow: UnitOfWork, code: str, lock: bool = False
                           ) -> Jurisdiction | None:
    row = await uow.fetchone(f"SELECT {_JUR} FROM jurisdictions WHERE code = %s"
                             + (" FOR UPDATE" if lock else ""), [code])
    return Jurisdiction(*row) if row else None


async def update_jurisdiction(uow: UnitOfWork, j: Jurisdiction) -> None:
    await uow.execute("UPDATE jurisdictions SET name = %s, minimum_living_standard_fen = %s, "
                      "version = %s, updated_at = now() WHERE code = %s",
                      [j.name, j.minimum_living_standard_fen, j.version, j.code])


async def insert_jurisdiction(uow: UnitOfWork, j: Jurisdiction) -> bool:
    row = await uow.fetchone(
        "INSERT INTO jurisdictions (code, name, level, parent_code, path, "
        "minimum_living_standard_fen) VALUES (%s, %s, %s, %s, %s, %s) "
        "ON CONFLICT DO NOTHING RETURNING 1",
        [j.code, j.name, j.level, j.parent_code or None, j.path, j.minimum_living_standard_fen])
    return row is not None


async def child_jurisdictions(uow: UnitOfWork, parent_code: str) -> list[Jurisdiction]:
    rows = await uow.fetchall(f"SELECT {_JUR} FROM jurisdictions WHERE parent_code = %s "
                              "ORDER BY code", [parent_code])
    return [Jurisdiction(*r) for r in rows]


async def jurisdictions_at(uow: UnitOfWork, paths: tuple[str, ...]) -> list[Jurisdiction]:
    rows = await uow.fetchall(f"SELECT {_JUR} FROM jurisdictions WHERE path = ANY(%s) "
                              "ORDER BY path", [list(paths)])
    return [Jurisdiction(*r) for r in rows]


# ---------------------------------------------------------------- households

_HH = "household_id::text, grid_code, jurisdiction_path, address, monthly_income_fen, version"


async def get_household(uow: UnitOfWork, household_id: str, lock: bool = False
                        ) -> Household | None:
    row = await uow.fetchone(f"SELECT {_HH} FROM households WHERE household_id = %s"
                             + (" FOR UPDATE" if lock else ""), [household_id])
    return Household(*row) if row else None


async def insert_household(uow: UnitOfWork, h: Household) -> None:
    await uow.execute(
        "INSERT INTO households (household_id, grid_code, jurisdiction_path, address, "
        "monthly_income_fen) VALUES (%s, %s, %s, %s, %s)",
        [h.household_id, h.grid_code, h.jurisdiction_path, h.address, h.monthly_income_fen])


async def update_household(uow: UnitOfWork, h: Household) -> None:
    await uow.execute(
        "UPDATE households SET address = %s, monthly_income_fen = %s, grid_code = %s, "
        "jurisdiction_path = %s, version = %s, updated_at = now() WHERE household_id = %s",
        [h.address, h.monthly_income_fen, h.grid_code, h.jurisdiction_path, h.version,
         h.household_id])


async def household_members(uow: UnitOfWork, household_id: str) -> list[str]:
    rows = await uow.fetchall("SELECT person_id::text FROM persons WHERE household_id = %s "
                              "AND status = 1 ORDER BY created_at, person_id", [household_id])
    return [r[0] for r in rows]


async def household_jurisdiction_anywhere(uow: UnitOfWork, household_id: str) -> str | None:
    await uow.with_scope(SYSTEM)
    try:
        row = await uow.fetchone(
            "SELECT jurisdiction_path FROM households WHERE household_id = %s", [household_id])
    finally:
        await uow.with_scope(uow.caller)
    return row[0] if row else None
