"""The 30-minute service loop (线上点单、线下派单、结果反馈): an urgent request submitted for a
person, a team dispatched, the team's arrival on site (due within 30 minutes of submission),
escalation of what cannot be solved there to the association meeting (due within 24 hours), and
the result fed back. /requests lists the open requests of the worker's jurisdictions (the aid
service's ListRequests) with the community's SLA compliance; /requests/{id} shows the SLA clock
and the steps the request's state allows."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from cdsp.aid.v1 import aid_pb2 as pb
from console.adapters.backends import CallFailed
from console.entrypoints.pages.work_parts import (
    FormState,
    deadline,
    minutes_between,
    person_choices,
    person_names,
    refused,
    require_uuid,
)
from console.i18n import translate
from console.web import FieldError, call, form_values, lang, render, signed_in

SUBMITTED, DISPATCHED, ON_SITE, ESCALATED, RESOLVED = 1, 2, 3, 4, 5
STATUS = {SUBMITTED: "submitted", DISPATCHED: "dispatched", ON_SITE: "on_site",
          ESCALATED: "escalated", RESOLVED: "resolved"}
# The service's own names of the statuses (in its refusals).
_SERVICE_STATUS = {"submitted": "submitted", "dispatched": "dispatched", "on site": "on_site",
                   "escalated": "escalated", "resolved": "resolved"}
_STEP_REFUSED = re.compile(r"cannot .+ a request that is ([a-z ]+) \(only a request that is .+\)")
PAGE_SIZE = 100
# Each step: the form field it posts (if any) and the RPC it calls.
STEPS = {"dispatch": "team", "arrive": "", "escalate": "reason", "resolve": "result"}


def status_name(status: int) -> str:
    return STATUS.get(status, "submitted")


def _explain(language: str, message: str) -> str:
    found = _STEP_REFUSED.fullmatch(message)
    if found and found.group(1) in _SERVICE_STATUS:
        words = translate(language, f"req.status.{_SERVICE_STATUS[found.group(1)]}")
        return translate(language, "req.refused_step", status=words)
    return ""


@signed_in
async def request_list(request: Request) -> Response:
    everything = request.query_params.get("all") == "1"
    token = request.query_params.get("page", "")
    reply = await call(request, "aid", "ListRequests", pb.ListRequestsRequest(
        include_resolved=everything, page_size=PAGE_SIZE, page_token=token))
    compliance = await call(request, "aid", "GetSlaCompliance", pb.GetSlaComplianceRequest())
    names = await person_names(request, (r.person_id for r in reply.requests))
    now = datetime.now(UTC)
    rows = [{"r": r, "name": names.get(r.person_id, ""), "status": status_name(r.status),
             "arrival": deadline(request, r.arrival_due_at, now),
             "meeting": deadline(request, r.meeting_due_at, now) if r.status == ESCALATED
             else None} for r in reply.requests]
    online = (round(100 * compliance.submitted_online / compliance.submitted_total)
              if compliance.submitted_total else None)
    return render(request, "requests.html", rows=rows, compliance=compliance,
                  arrival_percent=round(100 * compliance.arrival_compliance),
                  online_percent=online, everything=everything,
                  next_page=reply.next_page_token, paged=bool(token))


async def _new_page(request: Request, state: FormState) -> Response:
    choices = await person_choices(request)
    return render(request, "requests_new.html", status=state.status, form=state,
                  choices=[("", translate(lang(request), "req.choose_person")), *choices])


@signed_in
async def new_page(request: Request) -> Response:
    state = FormState(values={"person_id": request.query_params.get("person_id", ""),
                              "submitted_online": ""})
    return await _new_page(request, state)


@signed_in
async def submit(request: Request) -> Response:
    values = await form_values(request)
    language = lang(request)
    state = FormState(values={key: values.get(key, "") for key in
                              ("person_id", "description", "submitted_online")})
    if not state.values["person_id"]:
        state.errors["person_id"] = _required(language, "req.person")
    if not state.values["description"].strip():
        state.errors["description"] = _required(language, "req.description")
    if state.errors:
        state.status = 400
        return await _new_page(request, state)
    try:
        made = await call(request, "aid", "SubmitRequest", pb.SubmitRequestRequest(
            person_id=state.values["person_id"], description=state.values["description"],
            submitted_online=state.values["submitted_online"] == "1"))
    except CallFailed as failed:
        refused(request, failed, state, _labels(language), lambda m: _explain(language, m))
        return await _new_page(request, state)
    return RedirectResponse(f"/requests/{made.request_id}?done=submit", status_code=303)


def _required(language: str, label_key: str) -> FieldError:
    label = translate(language, label_key)
    return FieldError(label, translate(language, "req.required", field=label))


def _labels(language: str) -> dict[str, str]:
    return {name: translate(language, f"req.{name}") for name in
            ("person_id", "description", "team", "reason", "result", "arrived_at")}


async def _detail(request: Request, request_id: str, state: FormState, step: str = ""
                  ) -> Response:
    found = await call(request, "aid", "GetRequest", pb.GetRequestRequest(request_id=request_id))
    names = await person_names(request, [found.person_id])
    now = datetime.now(UTC)
    done = request.query_params.get("done", "") if request.method == "GET" else ""
    arrived = found.status >= ON_SITE and found.HasField("arrived_at")
    return render(
        request, "requests_detail.html", status=state.status, r=found,
        person_name=names.get(found.person_id, ""), status_key=status_name(found.status),
        since=minutes_between(found.submitted_at, found.resolved_at if found.status == RESOLVED
                              else now),
        arrival=deadline(request, found.arrival_due_at, now),
        took=minutes_between(found.submitted_at, found.arrived_at) if arrived else None,
        late=arrived and found.arrived_at.ToDatetime() > found.arrival_due_at.ToDatetime(),
        meeting=(deadline(request, found.meeting_due_at, now)
                 if found.HasField("meeting_due_at") else None),
        form=state, step=step, done=done if done in (*STEPS, "submit") else "")


@signed_in
async def detail(request: Request) -> Response:
    return await _detail(request, require_uuid(request.path_params["request_id"]), FormState())


@signed_in
async def take_step(request: Request) -> Response:
    request_id = require_uuid(request.path_params["request_id"])
    step = request.path_params["step"]
    if step not in STEPS:
        raise HTTPException(404)
    values = await form_values(request)
    field = STEPS[step]
    language = lang(request)
    state = FormState(values={field: values.get(field, "")} if field else {})
    if field and not state.values[field].strip():
        state.errors[field] = _required(language, f"req.{field}")
        state.status = 400
        return await _detail(request, request_id, state, step)
    text = state.values.get(field, "").strip()
    method, message = {
        "dispatch": ("DispatchRequest", pb.DispatchRequestRequest(request_id=request_id,
                                                                  team=text)),
        "arrive": ("RecordArrival", pb.RecordArrivalRequest(request_id=request_id)),
        "escalate": ("EscalateRequest", pb.EscalateRequestRequest(request_id=request_id,
                                                                  reason=text)),
        "resolve": ("ResolveRequest", pb.ResolveRequestRequest(request_id=request_id,
                                                               result=text)),
    }[step]
    try:
        await call(request, "aid", method, message)
    except CallFailed as failed:
        refused(request, failed, state, _labels(language), lambda m: _explain(language, m))
        return await _detail(request, request_id, state, step)
    return RedirectResponse(f"/requests/{request_id}?done={step}", status_code=303)


routes = [Route("/requests", request_list, methods=["GET"]),
          Route("/requests/new", new_page, methods=["GET"]),
          Route("/requests/new", submit, methods=["POST"]),
          Route("/requests/{request_id}", detail, methods=["GET"]),
          Route("/requests/{request_id}/{step}", take_step, methods=["POST"])]
