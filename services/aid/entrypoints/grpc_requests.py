"""AidService methods for the service loop (submit, dispatch, arrive, escalate, resolve)."""

from __future__ import annotations

from aid.config import Aid


class RequestMethods:
    aid: Aid
