"""VolunteerService methods for hours (being built: until a method is defined here, the
generated base class answers UNIMPLEMENTED)."""

from __future__ import annotations

from volunteer.config import Volunteers


class HourMethods:
    v: Volunteers
