"""Keeping derived priority groups true as people age.

`disabled_children` ends at 18 and `elderly_living_alone` starts at 60 without anyone touching
the record, so a daily job finds the active records whose stored groups disagree with today's
ages and updates them, with a PersonUpdated event each, like any other change. Running it twice at
once is harmless: each record is locked and re-checked before it changes.
"""

from __future__ import annotations

from datetime import date

from registry.adapters import person_store
from registry.config import Registry
from registry.domain import events
from registry.domain.person import (
    ALONE,
    DISABLED_CHILDREN,
    ELDERLY_LIVING_ALONE,
    derive_priority_groups,
)
from registry.domain.resident_id import age_on
from runtime.auth import SYSTEM

BATCH = 200


async def stale_group_candidates(reg: Registry, today: date) -> list[str]:
    async with reg.db.unit_of_work(SYSTEM) as uow:
        rows = await uow.fetchall(
            "SELECT person_id::text FROM persons WHERE status = 1 AND ("
            " (%(children)s AND (priority_groups @> ARRAY[%(child_group)s])"
            "    <> (birth_date > (%(today)s::date - interval '18 years')))"
            " OR (%(elderly)s AND (priority_groups @> ARRAY[%(elderly_group)s])"
            "    <> (birth_date <= (%(today)s::date - interval '60 years')"
            "        AND living_situation = %(alone)s)))",
            {"children": DISABLED_CHILDREN in reg.priority_groups,
             "elderly": ELDERLY_LIVING_ALONE in reg.priority_groups,
             "child_group": DISABLED_CHILDREN, "elderly_group": ELDERLY_LIVING_ALONE,
             "today": today, "alone": ALONE})
    return [r[0] for r in rows]


async def refresh_derived_groups(reg: Registry, today: date | None = None) -> int:
    """Updates every record whose derived groups are stale; returns how many changed."""
    today = today or reg.today()
    candidates = await stale_group_candidates(reg, today)
    changed = 0
    for start in range(0, len(candidates), BATCH):
        async with reg.db.unit_of_work(SYSTEM) as uow:
            for person_id in candidates[start:start + BATCH]:
                view = await person_store.get_person(uow, person_id, lock=True, history=False)
                if view is None:
                    continue
                person = view.person
                groups = derive_priority_groups(person, age_on(person.birth_date, today),
                                                reg.priority_groups)
                if groups == person.priority_groups:
                    continue
                person.priority_groups = groups
                person.version += 1
                await person_store.update_person(uow, person)
                uow.record(events.person_updated(person, view.household_income_fen,
                                                 ["priority_groups"]),
                           aggregate_type="person", aggregate_id=person.person_id,
                           version=person.version, jurisdiction_path=person.jurisdiction_path)
                changed += 1
    return changed
