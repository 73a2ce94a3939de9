"""LISTEN on a PostgreSQL channel for as long as a task runs, reconnecting when the connection
drops. Notifications sent while nobody listened are lost, so the callback is also called with
None after every (re)connect: the listener's owner then catches up by looking at the table."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from psycopg import AsyncConnection, sql

log = logging.getLogger("cdsp.listen")


async def listen_forever(url: str, channel: str, on_notify: Callable[[str | None], None],
                         retry_s: float = 2.0) -> None:
    while True:
        try:
            async with await AsyncConnection.connect(url, autocommit=True) as conn:
                await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                on_notify(None)
                async for note in conn.notifies():
                    on_notify(note.payload)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("listener on %s lost its connection (%s); polling meanwhile", channel,
                        type(exc).__name__)
            on_notify(None)
            await asyncio.sleep(retry_s)
