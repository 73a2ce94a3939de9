"""A server-streaming call ends when its token stops being good (runtime.tokens.watch and
runtime.interceptors.until_ended); the running service: tests/integration/test_tokens.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dev_identity import LocalIdentity
from runtime.errors import Unauthenticated
from runtime.interceptors import until_ended
from tests.token_issuers import PATH, loaded, new_issuer


@pytest.fixture
def issuer(tmp_path: Path) -> LocalIdentity:
    return new_issuer(tmp_path / "issuer")


class Handler:
    """A streaming handler: yields what it is given, waits for more, notes its clean-up."""

    def __init__(self) -> None:
        self.items: asyncio.Queue[int] = asyncio.Queue()
        self.closed = False

    async def stream(self) -> AsyncIterator[int]:
        try:
            while True:
                yield await self.items.get()
        finally:
            self.closed = True


async def test_the_stream_ends_with_the_reason_and_the_handler_cleans_up() -> None:
    handler, ended = Handler(), asyncio.get_running_loop().create_future()
    stream = until_ended(handler.stream(), ended)
    handler.items.put_nowait(1)
    assert await anext(stream) == 1
    waiting = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)
    ended.set_result("token revoked")
    with pytest.raises(Unauthenticated, match=r"^token revoked$"):
        await waiting
    assert handler.closed


async def test_a_call_cancelled_by_its_client_cancels_the_handler_too() -> None:
    handler, ended = Handler(), asyncio.get_running_loop().create_future()

    async def consume() -> None:
        async for _ in until_ended(handler.stream(), ended):
            pass

    call = asyncio.ensure_future(consume())
    handler.items.put_nowait(1)
    while handler.items.qsize():
        await asyncio.sleep(0)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert handler.closed and not ended.done()


async def test_a_stream_ending_on_its_own_is_not_cut() -> None:
    async def three() -> AsyncIterator[int]:
        for i in range(3):
            yield i

    ended: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    assert [i async for i in until_ended(three(), ended)] == [0, 1, 2]


async def test_an_expired_token_ends_its_stream(issuer: LocalIdentity) -> None:
    verifier = await loaded(issuer)
    verified = await verifier.verify(issuer.mint("w", "grid_worker", [PATH], ttl_s=-5))
    async with verifier.watch(verified) as ended:
        assert await ended == "token expired"


async def test_a_revoked_token_ends_its_stream_at_the_next_refresh(
        issuer: LocalIdentity) -> None:
    verifier = await loaded(issuer)
    kept = await verifier.verify(issuer.mint("w-1", "grid_worker", [PATH]))
    revoked = await verifier.verify(issuer.mint("w-2", "grid_worker", [PATH]))
    async with verifier.watch(kept) as kept_ends, verifier.watch(revoked) as revoked_ends:
        issuer.revoke(subject="w-2")
        assert not revoked_ends.done()  # nothing happens before the list is read again
        await verifier.refresh()
        assert revoked_ends.result().startswith("token revoked")
        assert not kept_ends.done()


async def test_a_withdrawn_key_ends_the_streams_of_its_tokens(issuer: LocalIdentity) -> None:
    from runtime.token_signing import generate_key

    verifier = await loaded(issuer)
    verified = await verifier.verify(issuer.mint("w-1", "grid_worker", [PATH]))
    async with verifier.watch(verified) as ended:
        issuer.publish([generate_key("dev-")])  # a leaked key taken out of the JWKS
        await verifier.refresh()
        assert ended.result() == "invalid token: its signing key was withdrawn by the issuer"
