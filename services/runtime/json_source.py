"""A JSON document read from a file path or an http(s) URL: the identity issuer's JWKS and its
revocation list. Small (at most 1 MiB), fetched with a short timeout, never followed through a
redirect (the URL configured is the one trusted)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp

MAX_BYTES = 1024 * 1024
TIMEOUT_S = 5.0


class SourceError(Exception):
    """The document could not be read or is not a JSON object (the message names the source,
    never its content)."""


async def read_json(source: str, session: aiohttp.ClientSession | None = None) -> dict[str, Any]:
    if source.startswith(("http://", "https://")):
        raw = await _fetch(source, session)
    else:
        raw = await asyncio.to_thread(_read_file, source)
    try:
        document = json.loads(raw)
    except ValueError:
        raise SourceError(f"{source} is not JSON") from None
    if not isinstance(document, dict):
        raise SourceError(f"{source} is not a JSON object")
    return document


def _read_file(path: str) -> bytes:
    try:
        with Path(path).open("rb") as file:
            raw = file.read(MAX_BYTES + 1)
    except OSError as exc:
        raise SourceError(f"{path}: {exc.strerror or type(exc).__name__}") from None
    if len(raw) > MAX_BYTES:
        raise SourceError(f"{path} is larger than {MAX_BYTES} bytes")
    return raw


async def _fetch(url: str, session: aiohttp.ClientSession | None) -> bytes:
    owned = session is None
    client = session or aiohttp.ClientSession()
    try:
        async with client.get(url, allow_redirects=False,
                              timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as response:
            if response.status != 200:
                raise SourceError(f"{url} answered HTTP {response.status}")
            raw = await response.content.read(MAX_BYTES + 1)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise SourceError(f"{url}: {type(exc).__name__}") from None
    finally:
        if owned:
            await client.close()
    if len(raw) > MAX_BYTES:
        raise SourceError(f"{url} sent more than {MAX_BYTES} bytes")
    return raw
