"""EmploymentService methods for courses (being built: until a method is defined here, the
generated base class answers UNIMPLEMENTED)."""

from __future__ import annotations

from employment.config import Employment


class CourseMethods:
    emp: Employment
