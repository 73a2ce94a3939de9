"""Derived priority groups follow people's ages without anyone touching the record."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import devstack
from cdsp.registry.v1 import registry_pb2 as pb
from registry.config import Registry
from registry.domain.person import DEFAULT_PRIORITY_GROUPS
from registry.service.derived_groups import refresh_derived_groups
from runtime.auth import SYSTEM
from runtime.db import Database
from tests.helpers import Tree, resident_id, years_ago


async def test_daily_refresh_moves_people_between_groups(tree: Tree,
                                                         stack: devstack.Stack) -> None:
    teen = tree.register(resident_id=resident_id(years_ago(17)), guardian=pb.Guardian(
        name="父亲", phone="13700002222", relation="父亲"))
    nearly_old = tree.register(resident_id=resident_id(years_ago(59)),
                               living_situation=pb.LIVING_SITUATION_ALONE)
    assert "disabled_children" in teen.priority_groups
    assert "elderly_living_alone" not in nearly_old.priority_groups

    db = Database(stack.database_url("registry"), "registry", 1, 2)
    await db.open()
    try:
        registry = Registry(db, DEFAULT_PRIORITY_GROUPS, ZoneInfo("Asia/Shanghai"))
        next_year = registry.today() + timedelta(days=367)
        assert await refresh_derived_groups(registry, next_year) >= 2
        assert await refresh_derived_groups(registry, next_year) == 0  # nothing left to do
        async with db.unit_of_work(SYSTEM) as uow:
            events = await uow.fetchall(
                "SELECT record_key, event_type FROM outbox WHERE record_key = ANY(%s) "
                "ORDER BY id", [[teen.person_id, nearly_old.person_id]])
    finally:
        await db.close()
    after_teen = tree.admin.GetPerson(pb.GetPersonRequest(person_id=teen.person_id))
    after_old = tree.admin.GetPerson(pb.GetPersonRequest(person_id=nearly_old.person_id))
    assert "disabled_children" not in after_teen.priority_groups and after_teen.version == 2
    assert "elderly_living_alone" in after_old.priority_groups and after_old.version == 2
    assert [e for _, e in events].count("cdsp.events.v1.PersonUpdated") == 2


