"""The identity issuer's revocation list: tokens revoked one by one (by `jti`) and subjects whose
every token issued until a time is revoked (a lost phone, a worker who left, a password reset).

The document (a file or an https URL, CDSP_TOKEN_REVOCATIONS), a JSON object:

    {"tokens":   {"<jti>": <that token's exp, epoch seconds>, ...},
     "subjects": {"<sub>": <revoked at, epoch seconds>, ...}}

A token whose jti is listed is refused; so is one whose subject is listed with a time at or after
the token's `iat` (to the second: a token issued in the very second of the revocation is refused
too; signing in again a second later works). The issuer may drop a token's entry once its exp has
passed. Read at start-up and every CDSP_TOKEN_REVOCATIONS_REFRESH_S (30 s: a revocation takes
effect within a minute); a refresh that fails, or a document that is not valid, keeps the list
held (logged and counted: cdsp_token_refresh_failures_total, cdsp_token_revocations_age_seconds).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from runtime.json_source import SourceError, read_json

log = logging.getLogger("cdsp.tokens")
MAX_ID = 256


class RevocationListError(Exception):
    pass


@dataclass(frozen=True)
class RevocationList:
    token_ids: frozenset[str] = frozenset()
    subjects: dict[str, int] = field(default_factory=dict)

    def reason(self, token_id: str, subject: str, issued_at: int) -> str | None:
        """Why the token is revoked, None when it is not."""
        if token_id in self.token_ids:
            return "token revoked"
        revoked_at = self.subjects.get(subject)
        if revoked_at is not None and issued_at <= revoked_at:
            return "token revoked (every token of its subject until then)"
        return None


def _ids(value: Any, what: str) -> dict[str, int]:
    if not isinstance(value, dict):
        raise RevocationListError(f"`{what}` must be an object of id: epoch seconds")
    for key, stamp in value.items():
        if not (isinstance(key, str) and 0 < len(key) <= MAX_ID) or isinstance(stamp, bool) \
                or not isinstance(stamp, int):
            raise RevocationListError(f"`{what}` holds an entry that is not id: epoch seconds")
    return value


def parse_revocations(document: dict[str, Any]) -> RevocationList:
    tokens = _ids(document.get("tokens", {}), "tokens")
    subjects = _ids(document.get("subjects", {}), "subjects")
    return RevocationList(frozenset(tokens), dict(subjects))


class Revocations:
    """The list held, read from `source` (empty source: nothing is ever revoked)."""

    def __init__(self, source: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.source = source
        self.clock = clock
        self.current = RevocationList()
        self.session: aiohttp.ClientSession | None = None
        self.read_at = clock()

    async def load(self) -> None:
        """Reads the list; raises SourceError or RevocationListError (nothing changes then)."""
        if self.source:
            self.current = parse_revocations(await read_json(self.source, self.session))
        self.read_at = self.clock()

    async def refresh(self) -> bool:
        try:
            await self.load()
        except (SourceError, RevocationListError) as exc:
            log.warning("the revocation list could not be refreshed (keeping the one read %.0f s "
                        "ago): %s", self.age_s(), exc)
            return False
        return True

    def age_s(self) -> float:
        """Seconds since the list was last read successfully."""
        return self.clock() - self.read_at
