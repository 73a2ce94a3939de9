"""This month's verification (每月5日前核查一次): the records of the worker's jurisdictions that
still need this month's check, and recording a check in two taps — 记录核查 on the row, then
确认 on a short page with an optional note — back to the list with a success banner.

Which records are listed (the registry's rule, registry/domain/verification.py): each active
record is checked once a local month, before the 5th; registering a person counts as that
month's check. The list holds every active record not verified since the 1st of this month —
ListOverdueVerifications as of the 5th, 00:00 local time (or as of now from the 5th on). A row
is *overdue* when it is overdue now (ListOverdueVerifications' own rule: from the 5th, not
verified since the 1st; before the 5th, not verified since the 1st of last month), else *due*
by the 5th."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

from google.protobuf.timestamp_pb2 import Timestamp
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from cdsp.registry.v1 import registry_pb2 as rpb
from console.adapters.backends import CallFailed
from console.entrypoints.pages.work_parts import FormState, refused, require_uuid, when
from console.i18n import translate
from console.web import call, console, form_values, lang, render, signed_in

DUE_DAY = 5
PAGE_SIZE = 100


def check_window(now: datetime, tz: tzinfo) -> tuple[datetime, datetime, datetime]:
    """(as_of for this month's list, the overdue cutoff now, the 5th 00:00), all in UTC."""
    local = now.astimezone(tz)
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    due_by = first.replace(day=DUE_DAY)
    if local < due_by:
        cutoff = (first - timedelta(days=1)).replace(day=1)
        as_of = due_by
    else:
        cutoff, as_of = first, local
    return as_of.astimezone(UTC), cutoff.astimezone(UTC), due_by.astimezone(UTC)


def _stamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


@signed_in
async def verification_list(request: Request) -> Response:
    now = datetime.now(UTC)
    as_of, cutoff, due_by = check_window(now, console(request).settings.local_tz)
    token = request.query_params.get("page", "")
    reply = await call(request, "registry", "ListOverdueVerifications",
                       rpb.ListOverdueVerificationsRequest(as_of=_stamp(as_of),
                                                           page_size=PAGE_SIZE,
                                                           page_token=token))
    rows = []
    for person in reply.persons:
        last = when(person.last_verified_at)
        rows.append({"person": person, "last": last, "overdue": last is None or last < cutoff})
    rows.sort(key=lambda r: (not r["overdue"], r["person"].name))
    recorded = request.query_params.get("recorded", "")
    done_name = ""
    if recorded:
        done_name = await _name(request, recorded)
    return render(request, "verification.html", rows=rows, due_by=due_by, now=now,
                  past_due=now >= due_by, next_page=reply.next_page_token, paged=bool(token),
                  recorded=bool(recorded), done_name=done_name)


async def _name(request: Request, person_id: str) -> str:
    try:
        person = await call(request, "registry", "GetPerson",
                            rpb.GetPersonRequest(person_id=require_uuid(person_id)))
    except (CallFailed, HTTPException):  # the banner says it without the name
        return ""
    return str(person.name)


async def _confirm(request: Request, person_id: str, state: FormState) -> Response:
    person = await call(request, "registry", "GetPerson",
                        rpb.GetPersonRequest(person_id=person_id))
    now = datetime.now(UTC)
    _, cutoff, due_by = check_window(now, console(request).settings.local_tz)
    last = when(person.last_verified_at)
    return render(request, "verification_confirm.html", status=state.status, person=person,
                  last=last, overdue=last is None or last < cutoff, due_by=due_by, form=state)


@signed_in
async def confirm_page(request: Request) -> Response:
    person_id = require_uuid(request.path_params["person_id"])
    return await _confirm(request, person_id, FormState())


@signed_in
async def record(request: Request) -> Response:
    person_id = require_uuid(request.path_params["person_id"])
    values = await form_values(request)
    state = FormState(values={"note": values.get("note", "")})
    try:
        await call(request, "registry", "RecordVerification",
                   rpb.RecordVerificationRequest(person_id=person_id,
                                                 note=state.values["note"].strip()))
    except CallFailed as failed:
        language = lang(request)
        refused(request, failed, state, {"note": translate(language, "verify.note"),
                                         "verified_at": translate(language, "verify.when")})
        return await _confirm(request, person_id, state)
    return RedirectResponse(f"/verification?recorded={person_id}", status_code=303)


routes = [Route("/verification", verification_list, methods=["GET"]),
          Route("/verification/{person_id}", confirm_page, methods=["GET"]),
          Route("/verification/{person_id}", record, methods=["POST"])]
