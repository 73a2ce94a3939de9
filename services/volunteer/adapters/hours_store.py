"""SQL for service hours and the yearly summary (read-only, over visits and colour history)."""

from __future__ import annotations

from datetime import datetime

from runtime.db import UnitOfWork
from runtime.sql import in_subtrees_named


async def hours(uow: UnitOfWork, volunteer_id: str, team: str, start: datetime,
                end: datetime) -> tuple[int, int, int]:
    """(minutes, visits, volunteers) of one volunteer's or one team's visits in [start, end)."""
    who = "v.volunteer_id = %s" if volunteer_id else "v.team = %s"
    row = await uow.fetchone(
        "SELECT coalesce(sum(x.duration_minutes), 0), count(x.visit_id), "
        "count(DISTINCT x.volunteer_id) FROM visits x JOIN volunteers v USING (volunteer_id) "
        f"WHERE {who} AND x.visited_at >= %s AND x.visited_at < %s",
        [volunteer_id or team, start, end])
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


# A person's red spells: from a change to red until the next change of colour. One that
# overlaps the year makes them a red person of that year; a visit inside it covers them.
SUMMARY = """
WITH spells AS (
    SELECT person_id, colour, set_at AS since,
           lead(set_at) OVER (PARTITION BY person_id ORDER BY set_at) AS until
    FROM colour_history WHERE {paths}),
red AS (
    SELECT person_id, greatest(since, %(start)s) AS since, least(coalesce(until, %(end)s),
           %(end)s) AS until
    FROM spells WHERE colour = 3 AND since < %(end)s AND coalesce(until, %(end)s) > %(start)s),
year_visits AS (
    SELECT person_id, volunteer_id, visited_at, duration_minutes FROM visits
    WHERE {paths} AND visited_at >= %(start)s AND visited_at < %(end)s)
SELECT (SELECT count(DISTINCT volunteer_id) FROM year_visits),
       (SELECT count(*) FROM year_visits),
       (SELECT coalesce(sum(duration_minutes), 0) FROM year_visits),
       (SELECT count(DISTINCT person_id) FROM year_visits),
       (SELECT count(DISTINCT person_id) FROM red),
       (SELECT count(DISTINCT r.person_id) FROM red r JOIN year_visits y
           ON y.person_id = r.person_id AND y.visited_at >= r.since AND y.visited_at < r.until)
"""


async def summary(uow: UnitOfWork, paths: list[str], start: datetime, end: datetime
                  ) -> tuple[int, ...]:
    where, named = in_subtrees_named(paths, "jurisdiction_path")
    row = await uow.fetchone(SUMMARY.format(paths=where),
                             {**named, "start": start, "end": end})
    assert row is not None
    return tuple(int(x) for x in row)
