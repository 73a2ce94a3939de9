"""VolunteerService methods for pairings (being built: until a method is defined here, the
generated base class answers UNIMPLEMENTED)."""

from __future__ import annotations

from volunteer.config import Volunteers


class PairingMethods:
    v: Volunteers
