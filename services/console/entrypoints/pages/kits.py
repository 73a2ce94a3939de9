"""Emergency kits (暖心应急包) held by grid workers: the stock of each grid of the worker's
jurisdictions (ListKitStock), replenishing it, lending a lendable item (a wheelchair, a walker)
to a person and taking it back by its loan number, and handing out consumables (nursing pads,
medicines). An item is low on stock at or below its threshold, said in words."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from cdsp.aid.v1 import aid_pb2 as pb
from cdsp.registry.v1 import registry_pb2 as rpb
from console.adapters.backends import CallFailed
from console.entrypoints.pages.work_parts import (
    FormState,
    person_choices,
    refused,
)
from console.i18n import MESSAGES, translate
from console.web import FieldError, call, form_values, lang, render, signed_in

# The kit's usual items, and whether each is lent and returned (True) or handed out (False).
KNOWN_ITEMS = {"wheelchair": True, "walker": True, "nursing_pads": False, "medicine": False}
GRID, COMMUNITY = rpb.JURISDICTION_LEVEL_GRID, rpb.JURISDICTION_LEVEL_COMMUNITY


def item_words(language: str, item: str) -> str:
    key = f"kits.item.{item}"
    return translate(language, key) if key in MESSAGES else item


async def _stock(request: Request) -> list[pb.KitStock]:
    reply = await call(request, "aid", "ListKitStock", pb.ListKitStockRequest())
    return sorted(reply.stock, key=lambda s: (s.grid_code, s.item))


async def grid_choices(request: Request, stock: list[pb.KitStock]) -> list[tuple[str, str]]:
    """The grids a worker may replenish: those of their jurisdictions (a community's grids
    too) and those holding stock already."""
    found: dict[str, str] = {s.grid_code: s.grid_code for s in stock}
    try:
        own = (await call(request, "registry", "ListJurisdictions",
                          rpb.ListJurisdictionsRequest())).jurisdictions
        for place in own:
            if place.level == GRID:
                found[place.code] = f"{place.name}（{place.code}）"
            elif place.level == COMMUNITY:
                children = await call(request, "registry", "ListJurisdictions",
                                      rpb.ListJurisdictionsRequest(parent_code=place.code))
                found.update({c.code: f"{c.name}（{c.code}）" for c in children.jurisdictions
                              if c.level == GRID})
    except CallFailed:
        pass  # the grids holding stock can still be chosen
    return sorted(found.items())


async def _page(request: Request, state: FormState) -> Response:
    language = lang(request)
    stock = await _stock(request)
    grids: dict[str, list[pb.KitStock]] = {}
    for row in stock:
        grids.setdefault(row.grid_code, []).append(row)
    items = dict.fromkeys([*KNOWN_ITEMS, *(s.item for s in stock)])
    query = request.query_params if request.method == "GET" else {}
    return render(request, "kits.html", status=state.status, grids=grids, form=state,
                  grid_choices=[("", translate(language, "kits.choose_grid")),
                                *await grid_choices(request, stock)],
                  item_choices=[(i, item_words(language, i)) for i in items],
                  words=lambda i: item_words(language, i), done=query.get("done", ""),
                  loan=query.get("loan", ""))


@signed_in
async def kits_page(request: Request) -> Response:
    return await _page(request, FormState(values={"quantity": "1"}))


@signed_in
async def replenish(request: Request) -> Response:
    values = await form_values(request)
    language = lang(request)
    state = FormState(values={k: values.get(k, "") for k in ("grid_code", "item", "quantity")})
    labels = {"grid_code": translate(language, "kits.grid"),
              "item": translate(language, "kits.item"),
              "quantity": translate(language, "kits.quantity")}
    quantity = state.values["quantity"].strip()
    if not state.values["grid_code"]:
        state.errors["grid_code"] = FieldError(labels["grid_code"],
                                               translate(language, "kits.grid_required"))
    if not quantity.isdigit() or not 1 <= int(quantity) <= 1000:
        state.errors["quantity"] = FieldError(labels["quantity"],
                                              translate(language, "kits.quantity_invalid"))
    if state.errors:
        state.status = 400
        return await _page(request, state)
    held = {(s.grid_code, s.item): s.lendable for s in await _stock(request)}
    item = state.values["item"]
    lendable = held.get((state.values["grid_code"], item), KNOWN_ITEMS.get(item, False))
    try:
        await call(request, "aid", "ReplenishKit", pb.ReplenishKitRequest(
            grid_code=state.values["grid_code"], item=item, quantity=int(quantity),
            lendable=lendable))
    except CallFailed as failed:
        refused(request, failed, state, labels)
        return await _page(request, state)
    return RedirectResponse("/kits?done=replenish", status_code=303)


async def _lend_page(request: Request, grid: str, item: str, state: FormState,
                     mode: str = "lend") -> Response:
    """The form lending an item to a person (`mode` lend) or handing out a consumable, to a
    person or not (`mode` consume)."""
    language = lang(request)
    choices = await person_choices(request, grid)
    first = "kits.choose_person" if mode == "lend" else "kits.no_person"
    return render(request, "kits_lend.html", status=state.status, grid=grid, item=item,
                  words=item_words(language, item), form=state, mode=mode,
                  choices=[("", translate(language, first)), *choices])


@signed_in
async def lend_page(request: Request) -> Response:
    grid, item = request.path_params["grid"], request.path_params["item"]
    return await _lend_page(request, grid, item, FormState())


@signed_in
async def consume_page(request: Request) -> Response:
    grid, item = request.path_params["grid"], request.path_params["item"]
    return await _lend_page(request, grid, item, FormState(values={"quantity": "1"}), "consume")


@signed_in
async def consume(request: Request) -> Response:
    grid, item = request.path_params["grid"], request.path_params["item"]
    values = await form_values(request)
    language = lang(request)
    state = FormState(values={k: values.get(k, "") for k in ("person_id", "quantity")})
    labels = {"person_id": translate(language, "kits.person"),
              "quantity": translate(language, "kits.quantity")}
    quantity = state.values["quantity"].strip()
    if not quantity.isdigit() or not 1 <= int(quantity) <= 1000:
        state.errors["quantity"] = FieldError(labels["quantity"],
                                              translate(language, "kits.quantity_invalid"))
        state.status = 400
        return await _lend_page(request, grid, item, state, "consume")
    try:
        await call(request, "aid", "ConsumeKit", pb.ConsumeKitRequest(
            grid_code=grid, item=item, quantity=int(quantity),
            person_id=state.values["person_id"]))
    except CallFailed as failed:
        refused(request, failed, state, labels)
        return await _lend_page(request, grid, item, state, "consume")
    return RedirectResponse("/kits?done=consume", status_code=303)


@signed_in
async def lend(request: Request) -> Response:
    grid, item = request.path_params["grid"], request.path_params["item"]
    values = await form_values(request)
    language = lang(request)
    state = FormState(values={"person_id": values.get("person_id", "")})
    label = translate(language, "kits.person")
    if not state.values["person_id"]:
        state.errors["person_id"] = FieldError(label, translate(language, "kits.person_required"))
        state.status = 400
        return await _lend_page(request, grid, item, state)
    try:
        loan = await call(request, "aid", "LendKit", pb.LendKitRequest(
            grid_code=grid, item=item, person_id=state.values["person_id"]))
    except CallFailed as failed:
        refused(request, failed, state, {"person_id": label,
                                         "item": translate(language, "kits.item"),
                                         "grid_code": translate(language, "kits.grid")})
        return await _lend_page(request, grid, item, state)
    return RedirectResponse(f"/kits?done=lend&loan={loan.loan_id}", status_code=303)


@signed_in
async def give_back(request: Request) -> Response:
    values = await form_values(request)
    language = lang(request)
    state = FormState(values={"quantity": "1", "loan_id": values.get("loan_id", "").strip()})
    label = translate(language, "kits.loan_id")
    try:
        loan_id = str(uuid.UUID(state.values["loan_id"]))
    except ValueError:  # not a loan number: said beside the field
        state.errors["loan_id"] = FieldError(label, translate(language, "kits.loan_invalid"))
        state.status = 400
        return await _page(request, state)
    try:
        await call(request, "aid", "ReturnKit", pb.ReturnKitRequest(loan_id=loan_id))
    except CallFailed as failed:
        refused(request, failed, state, {"loan_id": label})
        return await _page(request, state)
    return RedirectResponse("/kits?done=return", status_code=303)


routes = [Route("/kits", kits_page, methods=["GET"]),
          Route("/kits/replenish", replenish, methods=["POST"]),
          Route("/kits/return", give_back, methods=["POST"]),
          Route("/kits/{grid}/{item}/lend", lend_page, methods=["GET"]),
          Route("/kits/{grid}/{item}/lend", lend, methods=["POST"]),
          Route("/kits/{grid}/{item}/consume", consume_page, methods=["GET"]),
          Route("/kits/{grid}/{item}/consume", consume, methods=["POST"])]
