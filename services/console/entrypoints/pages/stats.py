"""Statistics of a jurisdiction's subtree for the staff who cover it: persons by category,
grade and priority group (the registry's GetStatistics), open cases by warning level (the aid
service's case list, counted here: it has no count of its own) and the 30-minute service's
compliance (GetSlaCompliance). Tables with a bar in each row drawn in HTML and CSS; the number
and share in the row are the bar's text alternative, so the bar itself is hidden from screen
readers. The services decide what the worker may see: a jurisdiction outside theirs is refused
there, not here."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cdsp.aid.v1 import aid_pb2 as apb
from cdsp.registry.v1 import registry_pb2 as rpb
from console.adapters.backends import CallFailed
from console.i18n import MESSAGES, translate
from console.web import call, lang, render, session, signed_in

CASE_PAGE = 500
MAX_CASE_PAGES = 20  # 10,000 open cases counted at most (the page says so when there are more)
CATEGORIES = ("visual", "hearing", "speech", "physical", "intellectual", "mental", "multiple")
LEVELS = ((3, "red"), (2, "orange"), (1, "yellow"))


@dataclass(frozen=True)
class Row:
    """One row of a table: its label, the figure, its share of the whole (0-100, None when
    the whole is nothing) and the bar's width class (p0 to p100)."""

    label: str
    count: int
    share: float | None
    key: str = ""
    label_lang: str = ""  # "en" when the label is a code nobody translated

    @property
    def width(self) -> str:
        return f"p{round(self.share or 0)}"

    @property
    def percent(self) -> str:
        return "—" if self.share is None else f"{self.share:.1f}%"


def share(part: int, whole: int) -> float | None:
    return None if whole <= 0 else min(100.0, 100.0 * part / whole)


def word(language: str, key: str, fallback: str) -> tuple[str, str]:
    """The words for a code, or the code itself marked as English when none are known."""
    return (translate(language, key), "") if key in MESSAGES else (fallback, "en")


def count_rows(language: str, prefix: str, counts: list[tuple[str, int]], whole: int,
               known: tuple[str, ...] = ()) -> list[Row]:
    """Rows of counts by key: every known key (0 when none), then any other key found."""
    found = dict(counts)
    rows = []
    for key in (*known, *(k for k in found if k not in known)):
        label, label_lang = word(language, f"{prefix}{key}", key)
        rows.append(Row(label, found.get(key, 0), share(found.get(key, 0), whole), key,
                        label_lang))
    return rows


async def jurisdiction_choices(request: Request, code: str) -> tuple[list[tuple[str, str]],
                                                                    Any, list[Any]]:
    """The selector's options (code, label): the worker's own jurisdictions, the ones between
    them and the chosen one, the chosen one and its children; with the chosen jurisdiction
    (None for all of the worker's own) and its children."""
    language = lang(request)
    own = list((await call(request, "registry", "ListJurisdictions",
                           rpb.ListJurisdictionsRequest())).jurisdictions)
    if not code and len(own) == 1:
        code = own[0].code
    chosen, children, between = None, [], []
    if code:
        chosen = await call(request, "registry", "GetJurisdiction",
                            rpb.GetJurisdictionRequest(code=code))
        children = list((await call(request, "registry", "ListJurisdictions",
                                    rpb.ListJurisdictionsRequest(parent_code=code))).jurisdictions)
        top = next((j for j in own if chosen.path.startswith(j.path)), None)
        if top is not None:
            codes = chosen.path[len(top.path):].strip("/").split("/")[:-1]
            between = list(await asyncio.gather(*(
                call(request, "registry", "GetJurisdiction", rpb.GetJurisdictionRequest(code=c))
                for c in codes if c)))
    places = {j.path: j for j in [*own, *between, *([chosen] if chosen else []), *children]}
    options = [("", translate(language, "stats.all_mine"))] if len(own) > 1 else []
    for j in sorted(places.values(), key=lambda j: j.path):
        level = f"stats.level.{int(j.level)}"
        options.append((j.code, translate(language, "stats.option", name=j.name,
                                          level=translate(language, level if level in MESSAGES
                                                          else "stats.level.0"))))
    return options, chosen, children


async def open_cases(request: Request, path: str) -> tuple[dict[int, int], bool]:
    """Open cases under `path` counted by level; True when there were more than counted."""
    by_level: dict[int, int] = {}
    token = ""
    for _ in range(MAX_CASE_PAGES):
        reply = await call(request, "aid", "ListCases", apb.ListCasesRequest(
            jurisdiction_path=path, page_size=CASE_PAGE, page_token=token))
        for case in reply.cases:
            by_level[int(case.level)] = by_level.get(int(case.level), 0) + 1
        token = reply.next_page_token
        if not token:
            return by_level, False
    return by_level, True


async def aid_figures(request: Request, path: str) -> dict[str, Any]:
    """Warnings by level and SLA compliance; a part the aid service cannot give now says so."""
    language = lang(request)
    try:
        (by_level, capped), sla = await asyncio.gather(
            open_cases(request, path),
            call(request, "aid", "GetSlaCompliance",
                 apb.GetSlaComplianceRequest(jurisdiction_path=path)))
    except CallFailed as failed:
        if not failed.unavailable:
            raise
        return {"aid_down": translate(language, "stats.part_unavailable",
                                      service=translate(language, "service.aid"))}
    cases = sum(by_level.values())
    warnings = [Row(translate(language, f"stats.warning.{name}"), by_level.get(level, 0),
                    share(by_level.get(level, 0), cases), name) for level, name in LEVELS]
    sla_rows = [
        (Row(translate(language, "stats.sla_arrival"), sla.arrived_on_time,
             share(sla.arrived_on_time, sla.requests_due), "arrival"), sla.requests_due),
        (Row(translate(language, "stats.sla_meetings"), sla.meetings_on_time,
             share(sla.meetings_on_time, sla.escalations_due), "meetings"), sla.escalations_due),
        (Row(translate(language, "stats.sla_online"), sla.submitted_online,
             share(sla.submitted_online, sla.submitted_total), "online"), sla.submitted_total),
    ]
    return {"aid_down": "", "warnings": warnings, "cases": cases, "capped": capped,
            "sla": sla_rows}


@signed_in
async def stats_page(request: Request) -> Response:
    language = lang(request)
    options, chosen, children = await jurisdiction_choices(
        request, request.query_params.get("j", "").strip())
    path = chosen.path if chosen is not None else ""
    figures, aid = await asyncio.gather(
        call(request, "registry", "GetStatistics", rpb.GetStatisticsRequest(
            jurisdiction_path=path)),
        aid_figures(request, path))
    whole = figures.persons
    overview = [Row(translate(language, f"stats.{name}"), value, share(value, whole), name)
                for name, value in (("persons", whole), ("certified", figures.certified),
                                    ("uncertified", figures.uncertified),
                                    ("living_alone", figures.living_alone))]
    pairs = {name: [(c.key, c.count) for c in counts] for name, counts in (
        ("category", figures.by_category), ("grade", figures.by_grade),
        ("group", figures.by_priority_group))}
    place = (next(label for code, label in options if code == chosen.code) if chosen
             else translate(language, "stats.all_mine"))
    return render(
        request, "stats.html", options=options, chosen=chosen.code if chosen else "",
        children=children, place=place, overview=overview,
        categories=count_rows(language, "stats.category.", pairs["category"], whole,
                              CATEGORIES),
        grades=count_rows(language, "stats.grade.", pairs["grade"], whole),
        groups=count_rows(language, "stats.group.", pairs["group"], whole),
        signed=session(request), **aid)


routes = [Route("/stats", stats_page, methods=["GET"])]
