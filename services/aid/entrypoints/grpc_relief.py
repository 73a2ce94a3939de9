"""AidService methods for temporary relief, budgets and the ledger export."""

from __future__ import annotations

from aid.config import Aid


class ReliefMethods:
    aid: Aid
