"""Temporary relief (临时救助): granted on a household's open aid case by the community association
and above. The page shows the case's cap — 1.5 × the local minimum living standard per case, all
of the case's grants together (the aid service's rule; the standard is the registry's, of the
deepest jurisdiction above the household that sets one) — and what is left of the community's
annual budget (GetBudget). A refusal is recorded by the service and explained beside the amount,
in the worker's language where the service's reason is known."""

from __future__ import annotations

import asyncio
import re

import grpc
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from cdsp.aid.v1 import aid_pb2 as pb
from cdsp.registry.v1 import registry_pb2 as rpb
from console.adapters.backends import CallFailed, SessionEnded
from console.entrypoints.pages.work_parts import (
    FormState,
    households,
    parse_yuan,
    refused,
    require_uuid,
    yuan,
)
from console.i18n import translate
from console.web import FieldError, call, form_values, lang, render, session, signed_in
from runtime.roles import granted

GRANTERS = granted("aid", "relief")
COMMUNITY_DEPTH = 4  # city / district / street / community
CAP_PERMILLE = 1500  # the plans' cap: 1.5 × the minimum living standard (shown, not enforced)
MAX_BUDGETS = 20
_MONEY = r"([\d,]+\.\d\d)"
_CAP = re.compile(rf"refused: above the per-case cap of {_MONEY} yuan \(([\d.]+) x the monthly "
                  rf"minimum living standard of {_MONEY} yuan set by (\S+)\); the case has "
                  rf"already been granted {_MONEY} yuan, so this grant exceeds the cap by "
                  rf"{_MONEY} yuan")
_BUDGET = re.compile(rf"refused: above what remains of the community's (\d+) relief budget "
                     rf"\({_MONEY} yuan\) by {_MONEY} yuan")


def community_of(path: str) -> str:
    parts = [p for p in path.split("/") if p]
    return "/" + "/".join(parts[:COMMUNITY_DEPTH]) + "/" if len(parts) >= COMMUNITY_DEPTH else ""


def explain_refusal(language: str, message: str) -> str:
    """The aid service's refusal of a grant for its amount (above the case's cap or the
    budget left) in the worker's language; "" when it is not one of those."""
    if found := _CAP.fullmatch(message):
        cap, factor, standard, _, before, excess = found.groups()
        return translate(language, "relief.refused_cap", cap=f"¥{cap}", factor=factor,
                         standard=f"¥{standard}", granted=f"¥{before}", excess=f"¥{excess}")
    if found := _BUDGET.fullmatch(message):
        year, left, excess = found.groups()
        return translate(language, "relief.refused_budget", year=year, left=f"¥{left}",
                         excess=f"¥{excess}")
    return ""


def explain_case(language: str, message: str) -> str:
    if message.startswith("the case is resolved"):
        return translate(language, "relief.refused_resolved")
    if message.startswith("no minimum living standard is known"):
        return translate(language, "relief.refused_no_standard")
    return ""


async def budgets(request: Request, communities: list[str]) -> list[pb.Budget]:
    """The budgets of these communities the worker may see (others are left out)."""
    replies = await asyncio.gather(*(
        call(request, "aid", "GetBudget", pb.GetBudgetRequest(community_path=path))
        for path in communities[:MAX_BUDGETS]), return_exceptions=True)
    for reply in replies:
        if isinstance(reply, SessionEnded):
            raise reply
    return [b for b in replies if isinstance(b, pb.Budget)]


async def standard_of(request: Request, path: str) -> rpb.Jurisdiction | None:
    """The jurisdiction whose minimum living standard holds at `path`: the deepest that sets
    one (the registry's records)."""
    codes = [p for p in path.split("/") if p]
    replies = await asyncio.gather(*(
        call(request, "registry", "GetJurisdiction", rpb.GetJurisdictionRequest(code=code))
        for code in codes), return_exceptions=True)
    found = [j for j in replies if isinstance(j, rpb.Jurisdiction)
             and j.minimum_living_standard_fen > 0]
    return found[-1] if found else None


@signed_in
async def relief_list(request: Request) -> Response:
    reply = await call(request, "aid", "ListCases", pb.ListCasesRequest(page_size=100))
    homes = await households(request, (c.household_id for c in reply.cases))
    scopes = [s for s in session(request).scopes if s.count("/") - 1 == COMMUNITY_DEPTH]
    communities = list(dict.fromkeys([*scopes, *(community_of(c.jurisdiction_path)
                                                 for c in reply.cases)]))
    shown = await budgets(request, [c for c in communities if c])
    cases = sorted(reply.cases, key=lambda c: (-c.level, c.opened_at.seconds))
    return render(request, "relief.html", cases=cases, homes=homes, budgets=shown, yuan=yuan,
                  may_grant=session(request).role in GRANTERS)


async def _case_page(request: Request, case_id: str, state: FormState) -> Response:
    case = await call(request, "aid", "GetCase", pb.GetCaseRequest(case_id=case_id))
    home = (await households(request, [case.household_id])).get(case.household_id)
    found = await budgets(request, [community_of(case.jurisdiction_path)])
    standard = await standard_of(request, case.jurisdiction_path)
    query = request.query_params if request.method == "GET" else {}
    done = {key: int(query[key]) for key in ("granted", "total", "cap")
            if str(query.get(key, "")).isdigit()}
    return render(request, "relief_case.html", status=state.status, case=case, home=home,
                  budget=found[0] if found else None, standard=standard,
                  cap=standard.minimum_living_standard_fen * CAP_PERMILLE // 1000
                  if standard else None, yuan=yuan, form=state, done=done,
                  may_grant=session(request).role in GRANTERS)


@signed_in
async def case_page(request: Request) -> Response:
    return await _case_page(request, require_uuid(request.path_params["case_id"]), FormState())


@signed_in
async def grant(request: Request) -> Response:
    case_id = require_uuid(request.path_params["case_id"])
    values = await form_values(request)
    language = lang(request)
    labels = {"amount": translate(language, "relief.amount"),
              "reason": translate(language, "relief.reason")}
    state = FormState(values={"amount": values.get("amount", ""),
                              "reason": values.get("reason", "")})
    fen = parse_yuan(state.values["amount"])
    if not state.values["amount"].strip():
        state.errors["amount"] = FieldError(labels["amount"],
                                            translate(language, "relief.amount_required"))
    elif fen is None or fen <= 0:
        state.errors["amount"] = FieldError(labels["amount"],
                                            translate(language, "relief.amount_invalid"))
    if not state.values["reason"].strip():
        state.errors["reason"] = FieldError(labels["reason"],
                                            translate(language, "relief.reason_required"))
    if state.errors:
        state.status = 400
        return await _case_page(request, case_id, state)
    assert fen is not None
    case = await call(request, "aid", "GetCase", pb.GetCaseRequest(case_id=case_id))
    try:
        decision = await call(request, "aid", "GrantRelief", pb.GrantReliefRequest(
            household_id=case.household_id, amount_fen=fen, reason=state.values["reason"],
            case_id=case_id))
    except CallFailed as failed:
        beside = "" if failed.fields else explain_refusal(language, failed.message)
        if beside and failed.code == grpc.StatusCode.FAILED_PRECONDITION:
            state.errors["amount"] = FieldError(labels["amount"], beside)  # by the amount
            state.status = 400
        else:
            refused(request, failed, state, {"amount_fen": labels["amount"], **labels},
                    lambda message: explain_case(language, message))
            if "amount_fen" in state.errors:
                state.errors["amount"] = state.errors.pop("amount_fen")
        return await _case_page(request, case_id, state)
    return RedirectResponse(f"/relief/{case_id}?granted={decision.amount_fen}"
                            f"&total={decision.case_granted_fen}&cap={decision.case_cap_fen}",
                            status_code=303)


routes = [Route("/relief", relief_list, methods=["GET"]),
          Route("/relief/{case_id}", case_page, methods=["GET"]),
          Route("/relief/{case_id}", grant, methods=["POST"])]
