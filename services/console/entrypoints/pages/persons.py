"""Pages: the persons of the worker's jurisdictions (filters, search, 50 to a page) and a
person's file (the registry's record with the household and service history, and from the other
services the risk colour, the pairings and the household's open aid cases). The forms that change
a record are in person_forms.py; households in households.py."""

from __future__ import annotations

import asyncio
import functools
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import grpc
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from cdsp.aid.v1 import aid_pb2
from cdsp.registry.v1 import registry_pb2 as pb
from cdsp.volunteer.v1 import volunteer_pb2 as vpb
from console.adapters.backends import CallFailed
from console.entrypoints.pages import person_fields as pf
from console.i18n import translate
from console.web import FieldError, call, field_errors, form_values, lang, render, signed_in
from runtime.logs import mask_resident_id

ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")  # a whole resident ID (GB 11643)
PAGE_SIZE = 50
MAX_QUERY = 50
# The list's filters, named as ListPersonsRequest names them.
FILTERS = ("query", "category", "grade", "priority_group", "certified", "living_alone",
           "need_code", "include_archived")
DONE = ("registered", "updated", "unchanged", "archived")
CASES_SCANNED = 200       # open cases of the person's grid read to find their household's
VOLUNTEER_NAMES = 10      # volunteers looked up by name on a file


def _words(request: Request) -> functools.partial[str]:
    return functools.partial(translate, lang(request))


def _int(text: str) -> int:
    return int(text) if text.isdigit() and len(text) < 4 else 0


def list_request(values: dict[str, str], page_token: str) -> pb.ListPersonsRequest:
    found = pb.ListPersonsRequest(
        query=values["query"].strip(), category=_int(values["category"]),  # type: ignore[arg-type]
        grade=_int(values["grade"]), priority_group=values["priority_group"],
        need_code=values["need_code"], include_archived=values["include_archived"] == "1",
        page_size=PAGE_SIZE, page_token=page_token)
    for name in ("certified", "living_alone"):
        if values[name] in ("true", "false"):
            setattr(found, name, values[name] == "true")
    return found


def _id_shaped(text: str) -> bool:
    return bool(ID_SHAPE.fullmatch(text.strip().upper()))


async def _list_page(request: Request, values: dict[str, str], page_token: str,
                     errors: dict[str, FieldError], found_id: str = "",
                     status: int = 200, problem: str = "") -> Response:
    """The list with the filters chosen (none shown when a form on it needs fixing first)."""
    t = _words(request)
    persons: list[pb.Person] = []
    next_token = ""
    if not errors and not problem:
        try:
            found = await call(request, "registry", "ListPersons",
                               list_request(values, page_token))
            persons, next_token = list(found.persons), found.next_page_token
        except CallFailed as failed:
            if failed.unavailable:
                problem, status = t("error.unavailable_page", service=t("service.registry")), 503
            elif failed.code == grpc.StatusCode.INVALID_ARGUMENT and failed.fields:
                errors = field_errors(lang(request), failed.fields, _list_labels(request))
                status = 400
            else:
                raise
    kept = {k: v for k, v in values.items() if v}
    return render(
        request, "persons_list.html", status=status, values={**values, "resident_id": found_id},
        errors=errors, problem=problem, persons=persons, masked=mask_resident_id,
        choices=pf.options(t, pf.PersonForm()),
        group_words=functools.partial(pf.group_words, t),
        next_url=f"/persons?{urlencode({**kept, 'page_token': next_token})}" if next_token
        else "",
        first_url=f"/persons?{urlencode(kept)}" if page_token else "")


def _list_labels(request: Request) -> dict[str, str]:
    t = _words(request)
    return {"query": t("persons.search"), "resident_id": t("persons.find_by_id"),
            "page_token": t("pager.label")}


@signed_in
async def persons_list(request: Request) -> Response:
    """GET: the filters and the name search are in the address (a worker can keep the link);
    a resident ID never is, so one typed into the name box is not searched or shown again."""
    t = _words(request)
    values = {name: request.query_params.get(name, "") for name in FILTERS}
    errors: dict[str, FieldError] = {}
    label = _list_labels(request)["query"]
    if _id_shaped(values["query"]):
        values["query"] = ""
        errors["query"] = FieldError(label, t("persons.id_in_name_box"))
    elif len(values["query"].strip()) > MAX_QUERY:
        errors["query"] = FieldError(label, t("persons.query_too_long", n=MAX_QUERY))
    return await _list_page(request, values, request.query_params.get("page_token", ""),
                            errors, status=400 if errors else 200)


@signed_in
async def find_by_resident_id(request: Request) -> Response:
    """POST (the number stays out of the address): the file of the one person who holds the
    resident ID, among the worker's jurisdictions."""
    t = _words(request)
    number = (await form_values(request)).get("resident_id", "").strip().upper()
    blank = {name: "" for name in FILTERS}
    label = _list_labels(request)["resident_id"]
    if not _id_shaped(number):
        errors = {"resident_id": FieldError(label, t("persons.find_id_shape"))}
        return await _list_page(request, blank, "", errors, number, 400)
    try:
        found = await call(request, "registry", "ListPersons", pb.ListPersonsRequest(
            query=number, include_archived=True, page_size=2))
    except CallFailed as failed:
        if not failed.unavailable:
            raise
        return await _list_page(request, blank, "", {}, number, 503, t(
            "error.unavailable", service=t("service.registry")))
    if len(found.persons) == 1:
        return RedirectResponse(f"/persons/{found.persons[0].person_id}", status_code=303)
    errors = {"resident_id": FieldError(label, t("persons.find_none"))}
    return await _list_page(request, blank, "", errors, number, 404)


@dataclass
class Section:
    """A part of the file another service gives: its rows, or why they cannot be shown."""

    items: list[Any] = field(default_factory=list)
    problem: str = ""
    note: str = ""


def _section_problem(request: Request, failed: CallFailed) -> str:
    t = _words(request)
    if failed.unavailable:
        return t("error.unavailable_page", service=t(f"service.{failed.service}"))
    if failed.code == grpc.StatusCode.PERMISSION_DENIED:
        return t("persons.section_forbidden")
    return t("persons.section_failed")


async def _care(request: Request, person_id: str) -> Section:
    try:
        schedule = await call(request, "volunteer", "GetCareSchedule",
                              vpb.GetCareScheduleRequest(person_id=person_id))
    except CallFailed as failed:
        if failed.code == grpc.StatusCode.NOT_FOUND:
            return Section()
        return Section(problem=_section_problem(request, failed))
    return Section([schedule])


async def _volunteer_name(request: Request, volunteer_id: str) -> tuple[str, str]:
    try:
        found = await call(request, "volunteer", "GetVolunteer",
                           vpb.GetVolunteerRequest(volunteer_id=volunteer_id))
    except CallFailed:
        return volunteer_id, ""
    return volunteer_id, found.name


async def _pairings(request: Request, person_id: str) -> Section:
    try:
        found = await call(request, "volunteer", "ListPairings",
                           vpb.ListPairingsRequest(person_id=person_id))
    except CallFailed as failed:
        if failed.code == grpc.StatusCode.NOT_FOUND:
            return Section()
        return Section(problem=_section_problem(request, failed))
    ids = list(dict.fromkeys(p.volunteer_id for p in found.pairings if p.active))
    names = dict(await asyncio.gather(*(_volunteer_name(request, v)
                                        for v in ids[:VOLUNTEER_NAMES])))
    return Section([(p, names.get(p.volunteer_id, "")) for p in found.pairings])


async def _cases(request: Request, person: pb.Person) -> Section:
    """Aid cases are kept per household and listed per jurisdiction: the open cases of the
    person's grid, those of their household kept."""
    try:
        found = await call(request, "aid", "ListCases", aid_pb2.ListCasesRequest(
            jurisdiction_path=person.jurisdiction_path, page_size=CASES_SCANNED))
    except CallFailed as failed:
        return Section(problem=_section_problem(request, failed))
    mine = [c for c in found.cases if c.household_id == person.household_id]
    return Section(mine, note=_words(request)("persons.cases_partial")
                   if found.next_page_token else "")


@signed_in
async def person_file(request: Request) -> Response:
    t = _words(request)
    person_id = str(request.path_params["person_id"])
    person = await call(request, "registry", "GetPerson", pb.GetPersonRequest(person_id=person_id))
    care, pairings, cases = await asyncio.gather(
        _care(request, person_id), _pairings(request, person_id), _cases(request, person))
    done = request.query_params.get("done", "")
    return render(request, "persons_file.html", person=person, care=care, pairings=pairings,
                  cases=cases, done=done if done in DONE else "", yuan=pf.yuan,
                  group_words=functools.partial(pf.group_words, t),
                  need_words=functools.partial(pf.need_words, t),
                  kind_words=functools.partial(pf.kind_words, t))


routes = [Route("/persons", persons_list, methods=["GET"]),
          Route("/persons/find", find_by_resident_id, methods=["POST"]),
          Route("/persons/{person_id:uuid}", person_file, methods=["GET"])]
