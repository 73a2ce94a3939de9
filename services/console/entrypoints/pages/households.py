"""Pages: creating a household (one file per household: its grid, address and monthly income,
typed in yuan and sent in fen) and a household's page with its members."""

from __future__ import annotations

import asyncio
import functools
import re
from typing import Any

import grpc
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from cdsp.registry.v1 import registry_pb2 as pb
from console.adapters.backends import CallFailed
from console.entrypoints.pages import person_fields as pf
from console.entrypoints.pages.person_forms import refusal
from console.i18n import translate
from console.web import FieldError, call, form_values, lang, render, signed_in

YUAN = re.compile(r"[0-9]{1,12}(\.[0-9]{1,2})?")
FIELDS = ("grid_code", "address", "monthly_income_fen")
MEMBERS_SHOWN = 30


def _words(request: Request) -> functools.partial[str]:
    return functools.partial(translate, lang(request))


def yuan_to_fen(text: str) -> int | None:
    """"1,234.5" or "¥1234.50" → 123450; None for anything that is not an amount of yuan."""
    cleaned = text.strip().replace(",", "").replace("，", "").lstrip("¥￥").strip()
    if not YUAN.fullmatch(cleaned):
        return None
    whole, _, cents = cleaned.partition(".")
    return int(whole) * 100 + int((cents + "00")[:2])


async def _grids(request: Request) -> list[tuple[str, str]] | None:
    """The grids the worker may file a household in (their own, or their community's), or None
    when they cover more than a community (they type the grid's code) or the registry is down."""
    try:
        own = await call(request, "registry", "ListJurisdictions", pb.ListJurisdictionsRequest())
        grids = [j for j in own.jurisdictions if j.level == pb.JURISDICTION_LEVEL_GRID]
        for community in own.jurisdictions:
            if community.level == pb.JURISDICTION_LEVEL_COMMUNITY:
                children = await call(request, "registry", "ListJurisdictions",
                                      pb.ListJurisdictionsRequest(parent_code=community.code))
                grids += [j for j in children.jurisdictions
                          if j.level == pb.JURISDICTION_LEVEL_GRID]
    except CallFailed as failed:
        if failed.unavailable:
            return None
        raise
    return [(j.code, f"{j.name}（{j.code}）") for j in grids] or None


def _labels(request: Request) -> dict[str, str]:
    t = _words(request)
    return {name: t(f"households.f.{name}") for name in FIELDS}


async def _form(request: Request, values: dict[str, str], status: int = 200,
                **context: Any) -> Response:
    grids = await _grids(request)
    if grids and len(grids) == 1 and not values.get("grid_code"):
        values["grid_code"] = grids[0][0]
    context.setdefault("errors", {})
    context.setdefault("problem", "")
    context.setdefault("detail", "")
    return render(request, "persons_household_form.html", status=status, values=values,
                  grids=grids, next=values.get("next", ""), **context)


@signed_in
async def new_household(request: Request) -> Response:
    chosen = request.query_params.get("next", "")
    return await _form(request, {"next": "register" if chosen == "register" else ""})


@signed_in
async def create_household(request: Request) -> Response:
    t = _words(request)
    form = await form_values(request)
    values = {name: form.get(name, "") for name in (*FIELDS, "next")}
    labels = _labels(request)
    fen = yuan_to_fen(values["monthly_income_fen"])
    if fen is None:
        errors = {"monthly_income_fen": FieldError(labels["monthly_income_fen"],
                                                   t("households.income_invalid"))}
        return await _form(request, values, 400, errors=errors)
    try:
        created = await call(request, "registry", "CreateHousehold", pb.CreateHouseholdRequest(
            grid_code=values["grid_code"].strip(), address=values["address"],
            monthly_income_fen=fen))
    except CallFailed as failed:
        errors, problem, detail, status = refusal(request, failed, labels)
        if failed.code == grpc.StatusCode.PERMISSION_DENIED:
            errors = {"grid_code": FieldError(labels["grid_code"], t("households.grid_outside"))}
            problem, detail = "", ""
        return await _form(request, values, status, errors=errors, problem=problem,
                           detail=detail)
    if values["next"] == "register":
        return RedirectResponse(f"/persons/new?household_id={created.household_id}"
                                "&done=household", status_code=303)
    return RedirectResponse(f"/households/{created.household_id}?done=created", status_code=303)


async def _member(request: Request, person_id: str) -> tuple[str, pb.Person | None]:
    try:
        return person_id, await call(request, "registry", "GetPerson",
                                     pb.GetPersonRequest(person_id=person_id))
    except CallFailed:
        return person_id, None


@signed_in
async def household_page(request: Request) -> Response:
    household = await call(request, "registry", "GetHousehold", pb.GetHouseholdRequest(
        household_id=str(request.path_params["household_id"])))
    members = await asyncio.gather(*(_member(request, m)
                                     for m in household.member_ids[:MEMBERS_SHOWN]))
    return render(request, "persons_household.html", household=household, members=members,
                  more=max(0, len(household.member_ids) - MEMBERS_SHOWN), yuan=pf.yuan,
                  done=request.query_params.get("done") == "created")


routes = [Route("/households/new", new_household, methods=["GET"]),
          Route("/households/new", create_household, methods=["POST"]),
          Route("/households/{household_id:uuid}", household_page, methods=["GET"])]
