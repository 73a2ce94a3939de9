"""AidService methods for emergency kits and home sickbed visits."""

from __future__ import annotations

from aid.config import Aid


class KitMethods:
    aid: Aid
