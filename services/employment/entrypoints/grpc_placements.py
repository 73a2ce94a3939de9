"""EmploymentService methods for placements (being built: until a method is defined here, the
generated base class answers UNIMPLEMENTED)."""

from __future__ import annotations

from employment.config import Employment


class PlacementMethods:
    emp: Employment
