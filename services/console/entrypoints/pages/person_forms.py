"""Pages: registering a person, editing a record with the version check, archiving one with a
reason. Every form keeps what the worker typed when the registry refuses it, with each field's
error beside the field and in the summary."""

from __future__ import annotations

import functools
from typing import Any

import grpc
from google.protobuf.field_mask_pb2 import FieldMask
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from cdsp.registry.v1 import registry_pb2 as pb
from console.adapters.backends import CallFailed
from console.entrypoints.pages import person_fields as pf
from console.i18n import translate
from console.web import FieldError, call, lang, render, session, signed_in
from runtime.inputs import is_uuid

ARCHIVE_REASONS = (1, 2)  # cdsp.events.v1.ArchiveReason: moved out, deceased


def _words(request: Request) -> functools.partial[str]:
    return functools.partial(translate, lang(request))


def is_conflict(failed: CallFailed) -> bool:
    """A versioned write refused because someone else changed the record first."""
    return failed.code == grpc.StatusCode.ABORTED or (
        failed.code == grpc.StatusCode.FAILED_PRECONDITION and "stale" in failed.message)


def refusal(request: Request, failed: CallFailed, labels: dict[str, str]
            ) -> tuple[dict[str, FieldError], str, str, int]:
    """(field errors, summary message, the service's own words, status) for a refused write."""
    t = _words(request)
    if failed.unavailable:
        return {}, t("error.unavailable", service=t(f"service.{failed.service}")), "", 503
    if failed.code == grpc.StatusCode.INVALID_ARGUMENT and failed.fields:
        return pf.shown_errors(lang(request), failed.fields, labels), "", "", 400
    if is_conflict(failed):
        return {}, t("error.conflict"), "", 409
    status = {grpc.StatusCode.PERMISSION_DENIED: 403, grpc.StatusCode.NOT_FOUND: 404,
              grpc.StatusCode.ALREADY_EXISTS: 409}.get(failed.code, 400)
    known = {grpc.StatusCode.ALREADY_EXISTS: "persons.already_registered",
             grpc.StatusCode.NOT_FOUND: "persons.not_found_refused"}
    if failed.code == grpc.StatusCode.FAILED_PRECONDITION and "review" in failed.message:
        return {}, t("persons.awaits_review"), "", 409
    if failed.code in known:
        return {}, t(known[failed.code]), failed.message, status
    return {}, t("error.refused"), failed.message, status


def _form_page(request: Request, mode: str, form: pf.PersonForm, status: int = 200,
               **context: Any) -> Response:
    t = _words(request)
    context.setdefault("errors", {})
    for key in ("problem", "detail", "notice", "expected_version", "original"):
        context.setdefault(key, "")
    context.setdefault("person", None)
    context.setdefault("changed_by_others", [])
    return render(request, "persons_form.html", status=status, mode=mode, values=form.values,
                  groups=form.groups, rows=form.rows(), choices=pf.options(t, form), **context)


async def _posted(request: Request) -> pf.PersonForm:
    data = await request.form()
    groups = [g for g in data.getlist("priority_groups") if isinstance(g, str)]
    return pf.from_post(data.get, groups)


@signed_in
async def new_person(request: Request) -> Response:
    form = pf.PersonForm({"certified": "true", "liaison.worker_id": session(request).subject})
    household = request.query_params.get("household_id", "")
    notice = ""
    if is_uuid(household):
        form.values["household_id"] = household
        if request.query_params.get("done") == "household":
            notice = _words(request)("households.done.created")
    return _form_page(request, "new", form, notice=notice)


@signed_in
async def register_person(request: Request) -> Response:
    form = await _posted(request)
    try:
        created = await call(request, "registry", "RegisterPerson",
                             pb.RegisterPersonRequest(person=pf.to_person(form)))
    except CallFailed as failed:
        labels = pf.labels(_words(request), form)
        errors, problem, detail, status = refusal(request, failed, labels)
        return _form_page(request, "new", form, status, errors=errors, problem=problem,
                          detail=detail)
    return RedirectResponse(f"/persons/{created.person_id}?done=registered", status_code=303)


async def _person(request: Request) -> pb.Person:
    found: pb.Person = await call(request, "registry", "GetPerson", pb.GetPersonRequest(
        person_id=str(request.path_params["person_id"])))
    return found


def _to_file(person: pb.Person) -> Response:
    return RedirectResponse(f"/persons/{person.person_id}", status_code=303)


@signed_in
async def edit_person(request: Request) -> Response:
    person = await _person(request)
    if person.status == pb.PERSON_STATUS_ARCHIVED:
        return _to_file(person)
    form = pf.from_person(person)
    return _form_page(request, "edit", form, person=person, expected_version=person.version,
                      original=form.to_json())


@signed_in
async def update_person(request: Request) -> Response:
    t = _words(request)
    mine = await _posted(request)
    data = await request.form()
    expected = str(data.get("expected_version") or "")
    try:
        current = await _person(request)
    except CallFailed as failed:
        if not failed.unavailable:
            raise
        original = pf.PersonForm.from_json(str(data.get("original") or "")) or mine
        mine.values["resident_id"] = original.values.get("resident_id", "")
        stand_in = pf.to_person(original, str(request.path_params["person_id"]))
        stand_in.resident_id = mine.values["resident_id"]
        return _form_page(request, "edit", mine, 503, person=stand_in,
                          expected_version=expected, original=original.to_json(),
                          problem=t("error.unavailable", service=t("service.registry")))
    latest = pf.from_person(current)
    original = pf.PersonForm.from_json(str(data.get("original") or "")) or latest
    mine.values["resident_id"] = current.resident_id
    if not expected.isdigit() or int(expected) != current.version:
        return _conflict(request, mine, original, latest, current)
    mask = pf.changed(mine, original)
    if not mask:
        return RedirectResponse(f"/persons/{current.person_id}?done=unchanged", status_code=303)
    try:
        await call(request, "registry", "UpdatePerson", pb.UpdatePersonRequest(
            person=pf.to_person(mine, current.person_id), update_mask=FieldMask(paths=mask),
            expected_version=current.version))
    except CallFailed as failed:
        if is_conflict(failed):
            current = await _person(request)
            return _conflict(request, mine, original, pf.from_person(current), current)
        errors, problem, detail, status = refusal(request, failed, pf.labels(t, mine))
        return _form_page(request, "edit", mine, status, person=current, errors=errors,
                          problem=problem, detail=detail, expected_version=expected,
                          original=original.to_json())
    return RedirectResponse(f"/persons/{current.person_id}?done=updated", status_code=303)


def _conflict(request: Request, mine: pf.PersonForm, original: pf.PersonForm,
              latest: pf.PersonForm, current: pb.Person) -> Response:
    """Someone else saved first: the worker's changes over the record as it is now, the fields
    the other change touched named, and the new version to save against."""
    t = _words(request)
    labels = pf.labels(t, latest)
    others = [labels.get(path) or t(f"persons.f.{path}") for path in
              pf.changed(latest, original)]
    return _form_page(request, "edit", pf.merged(mine, original, latest), 409, person=current,
                      problem=t("error.conflict"), expected_version=current.version,
                      original=latest.to_json(), changed_by_others=others)


def _archive_page(request: Request, person: pb.Person, status: int = 200,
                  **context: Any) -> Response:
    t = _words(request)
    context.setdefault("errors", {})
    context.setdefault("values", {})
    context.setdefault("problem", "")
    context.setdefault("detail", "")
    context.setdefault("expected_version", person.version)
    return render(request, "persons_archive.html", status=status, person=person,
                  choices=[(str(r), t(f"persons.reason.{r}")) for r in ARCHIVE_REASONS],
                  **context)


@signed_in
async def archive_form(request: Request) -> Response:
    person = await _person(request)
    if person.status == pb.PERSON_STATUS_ARCHIVED:
        return _to_file(person)
    return _archive_page(request, person)


@signed_in
async def archive_person(request: Request) -> Response:
    t = _words(request)
    data = await request.form()
    reason, expected = str(data.get("reason") or ""), str(data.get("expected_version") or "")
    person = await _person(request)
    values = {"reason": reason}
    try:
        await call(request, "registry", "ArchivePerson", pb.ArchivePersonRequest(
            person_id=person.person_id,
            reason=int(reason) if reason.isdigit() and len(reason) < 3 else 0,  # type: ignore[arg-type]
            expected_version=int(expected) if expected.isdigit() else 0))
    except CallFailed as failed:
        labels = {"reason": t("persons.archive_reason")}
        errors, problem, detail, status = refusal(request, failed, labels)
        return _archive_page(request, person, status, errors=errors, problem=problem,
                             detail=detail, values=values, expected_version=person.version
                             if status == 409 else expected)
    return RedirectResponse(f"/persons/{person.person_id}?done=archived", status_code=303)


routes = [Route("/persons/new", new_person, methods=["GET"]),
          Route("/persons/new", register_person, methods=["POST"]),
          Route("/persons/{person_id:uuid}/edit", edit_person, methods=["GET"]),
          Route("/persons/{person_id:uuid}/edit", update_person, methods=["POST"]),
          Route("/persons/{person_id:uuid}/archive", archive_form, methods=["GET"]),
          Route("/persons/{person_id:uuid}/archive", archive_person, methods=["POST"])]
