"""The unit of work gives its connection back to the pool whatever happens, its set-up
included."""

from __future__ import annotations

import psycopg
import pytest

import devstack
from runtime.auth import SYSTEM, Caller
from runtime.db import Database


async def test_a_failed_set_up_returns_the_connection(stack: devstack.Stack,
                                                      registry: str) -> None:
    """A caller whose subject holds a NUL byte (psycopg refuses it when the unit of work sets
    `cdsp.actor`): that unit of work fails, and with a pool of one connection the next one
    still gets it."""
    db = Database(stack.database_url("registry"), "registry", 1, 1)
    await db.open()
    try:
        hostile = Caller(subject="tester\x00", role="city_admin", scopes=("/T/",))
        for _ in range(3):  # more failures than the pool has connections
            with pytest.raises(psycopg.DataError, match="NUL"):
                async with db.unit_of_work(hostile):
                    raise AssertionError("the body must not run when the set-up failed")
            stats = db.stats()
            assert (stats["pool_size"], stats["pool_available"]) == (1, 1), stats

        async with db.unit_of_work(SYSTEM) as uow:
            row = await uow.fetchone("SELECT current_setting('cdsp.actor'), "
                                     "pg_current_xact_id_if_assigned() IS NULL")
            assert row == ("system", True)  # a fresh transaction, nothing left from before
        assert db.stats()["pool_available"] == 1
    finally:
        await db.close()
