"""Warnings and aid cases: the board of open cases by level — red, orange, yellow, each named in
words — with the actions each level requires and their deadlines counting down; a case's page,
where a worker marks an action done (CompleteCaseAction) or resolves the case (ResolveCase)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from cdsp.aid.v1 import aid_pb2 as pb
from console.adapters.backends import CallFailed
from console.entrypoints.pages.work_parts import (
    Deadline,
    FormState,
    deadline,
    households,
    person_names,
    refused,
    require_uuid,
    when,
)
from console.i18n import MESSAGES, translate
from console.web import call, form_values, lang, render, signed_in

RED, ORANGE, YELLOW = 3, 2, 1
LEVELS = {RED: "red", ORANGE: "orange", YELLOW: "yellow"}
PAGE_SIZE = 50  # cases per page: each is a card of about 1 KB


def level_name(level: int) -> str:
    return LEVELS.get(level, "none")


def action_words(language: str, action: str) -> str:
    """An action's name in the worker's language (its code when no words are known)."""
    key = f"warn.action.{action}"
    return translate(language, key) if key in MESSAGES else action


@dataclass(frozen=True)
class ActionView:
    action: str
    words: str
    due: Deadline
    done_at: datetime | None
    done_by: str
    note: str
    breached: bool


def actions_of(request: Request, case: pb.AidCase, now: datetime) -> list[ActionView]:
    language = lang(request)
    shown = [ActionView(a.action, action_words(language, a.action), deadline(request, a.due_at,
                                                                             now),
                        when(a.completed_at), a.completed_by, a.note, a.breached)
             for a in case.actions]
    return sorted(shown, key=lambda a: (a.done_at is not None, a.due.iso))


@signed_in
async def board(request: Request) -> Response:
    token = request.query_params.get("page", "")
    reply = await call(request, "aid", "ListCases",
                       pb.ListCasesRequest(page_size=PAGE_SIZE, page_token=token))
    homes = await households(request, (c.household_id for c in reply.cases))
    now = datetime.now(UTC)
    sections: dict[int, list[dict[str, object]]] = {RED: [], ORANGE: [], YELLOW: []}
    for case in reply.cases:
        actions = actions_of(request, case, now)
        sections.setdefault(case.level, []).append({
            "case": case, "home": homes.get(case.household_id), "actions": actions,
            "first_due": next((a.due.iso for a in actions if a.done_at is None), "~")})
    for cases in sections.values():
        cases.sort(key=lambda c: str(c["first_due"]))
    return render(request, "warnings.html", sections=[(lvl, sections.get(lvl, []))
                                                      for lvl in (RED, ORANGE, YELLOW)],
                  level_name=level_name, next_page=reply.next_page_token, paged=bool(token),
                  resolved=bool(request.query_params.get("resolved")))


async def _case_page(request: Request, case_id: str, forms: dict[str, FormState],
                     status: int = 200) -> Response:
    case = await call(request, "aid", "GetCase", pb.GetCaseRequest(case_id=case_id))
    home = (await households(request, [case.household_id])).get(case.household_id)
    members = await person_names(request, home.member_ids if home else [])
    done = request.query_params.get("done", "") if request.method == "GET" else ""
    failed = next((f for f in forms.values() if f.errors or f.problem), FormState())
    return render(request, "warnings_case.html", status=status, case=case, home=home,
                  members=members, actions=actions_of(request, case, datetime.now(UTC)),
                  level=level_name(case.level), forms=forms, blank=FormState(), failed=failed,
                  done=action_words(lang(request), done) if done else "")


@signed_in
async def case_page(request: Request) -> Response:
    return await _case_page(request, require_uuid(request.path_params["case_id"]), {})


@signed_in
async def complete_action(request: Request) -> Response:
    case_id = require_uuid(request.path_params["case_id"])
    action = request.path_params["action"]
    values = await form_values(request)
    field = f"note.{action}"
    state = FormState(values={field: values.get(field, "")})
    try:
        await call(request, "aid", "CompleteCaseAction", pb.CompleteCaseActionRequest(
            case_id=case_id, action=action, note=state.values[field].strip()))
    except CallFailed as failed:
        language = lang(request)
        refused(request, failed, state, {"note": translate(language, "warn.note"),
                                         "action": translate(language, "warn.action")},
                explain=lambda message: _explain(language, message))
        state.errors = {(field if name == "note" else name): e
                        for name, e in state.errors.items()}
        return await _case_page(request, case_id, {action: state}, state.status)
    return RedirectResponse(f"/warnings/{case_id}?done={action}", status_code=303)


@signed_in
async def resolve_case(request: Request) -> Response:
    case_id = require_uuid(request.path_params["case_id"])
    values = await form_values(request)
    state = FormState(values={"outcome": values.get("outcome", "")})
    try:
        version = int(values.get("version", "0"))
    except ValueError:
        version = 0
    try:
        await call(request, "aid", "ResolveCase", pb.ResolveCaseRequest(
            case_id=case_id, outcome=state.values["outcome"].strip(),
            expected_version=version))
    except CallFailed as failed:
        language = lang(request)
        refused(request, failed, state, {"outcome": translate(language, "warn.outcome")},
                explain=lambda message: _explain(language, message))
        return await _case_page(request, case_id, {"resolve": state}, state.status)
    return RedirectResponse(f"/warnings?resolved={case_id}", status_code=303)


def _explain(language: str, message: str) -> str:
    """The aid service's refusals of these forms in the worker's language, where known."""
    if message.startswith("the case is resolved") or message == "the case is already resolved":
        return translate(language, "warn.refused_resolved")
    if " was already completed" in message:
        return translate(language, "warn.refused_done")
    return ""


routes = [Route("/warnings", board, methods=["GET"]),
          Route("/warnings/{case_id}", case_page, methods=["GET"]),
          Route("/warnings/{case_id}/actions/{action}", complete_action, methods=["POST"]),
          Route("/warnings/{case_id}/resolve", resolve_case, methods=["POST"])]
