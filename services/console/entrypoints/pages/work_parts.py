"""What the daily work pages (verification, warnings, requests, relief, kits) share: money in
yuan on the page and integer fen in the services, a service's refusal of a form as the page shows
it, deadlines the shared console.js counts down, and the names of persons and households looked
up with the worker's own token (so the services' jurisdiction and masking rules hold)."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from starlette.exceptions import HTTPException
from starlette.requests import Request

from cdsp.registry.v1 import registry_pb2 as rpb
from console.adapters.backends import CallFailed, SessionEnded
from console.i18n import translate
from console.web import FieldError, call, field_errors, lang, local_time

MAX_PERSONS = 500  # the most persons a form's choice lists (the registry's largest page)
_YUAN = re.compile(r"(\d{1,8})(?:\.(\d{1,2}))?")


def yuan(fen: int) -> str:
    """12345 fen → "¥123.45" (integer arithmetic, never floats)."""
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


def parse_yuan(text: str) -> int | None:
    """What a worker typed in yuan ("500", "1,234.5", "¥80.00") in fen, or None when it is not
    an amount of money (more than two decimals, letters, a sign)."""
    cleaned = text.strip().lstrip("¥￥").replace(",", "").replace("，", "").strip()
    found = _YUAN.fullmatch(cleaned)
    if found is None:
        return None
    return int(found.group(1)) * 100 + int((found.group(2) or "").ljust(2, "0"))


def require_uuid(value: str) -> str:
    """An id from the URL: a UUID, or the page is not found (never sent to a service)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise HTTPException(404) from None


def when(ts: Timestamp) -> datetime | None:
    return ts.ToDatetime(tzinfo=UTC) if ts.seconds or ts.nanos else None


@dataclass
class FormState:
    """A form as the page shows it: the values typed, each field's error, a message for the
    whole form (`detail`: the service's own English words, shown marked lang="en")."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, FieldError] = field(default_factory=dict)
    problem: str = ""
    detail: str = ""
    status: int = 200


def refused(request: Request, failed: CallFailed, state: FormState, labels: dict[str, str],
            explain: Callable[[str], str] | None = None) -> FormState:
    """A service's refusal of a form, put on `state`: fields' errors beside their fields, the
    service down (503), someone else's change first (409), any other refusal in the summary —
    in the worker's language where `explain` knows the service's words."""
    language = lang(request)
    if failed.unavailable:
        state.problem = translate(language, "error.unavailable",
                                  service=translate(language, f"service.{failed.service}"))
        state.status = 503
    elif failed.code == grpc.StatusCode.INVALID_ARGUMENT and failed.fields:
        state.errors.update(field_errors(language, failed.fields, labels))
        state.status = 400
    elif failed.code == grpc.StatusCode.ABORTED or "is stale" in failed.message:
        state.problem, state.status = translate(language, "error.conflict"), 409
    else:
        known = explain(failed.message) if explain else ""
        state.problem = translate(language, "error.refused") + known
        state.detail = "" if known else failed.message
        state.status = 400
    return state


@dataclass(frozen=True)
class Deadline:
    """A deadline as console.js counts it down: `iso` (UTC) in data-deadline, the templates for
    time left and time over (their {m} minutes, {h} hours filled by the script), and the text
    the server shows first."""

    iso: str
    at: str
    over: bool
    text: str
    left: str
    over_text: str


def deadline(request: Request, due: Timestamp | datetime, now: datetime | None = None
             ) -> Deadline:
    language = lang(request)
    moment = due.ToDatetime(tzinfo=UTC) if isinstance(due, Timestamp) else due
    minutes = round(((moment - (now or datetime.now(UTC))).total_seconds()) / 60)
    hours = abs(minutes) >= 120  # counted in hours from two hours on
    left = translate(language, "work.left_hours" if hours else "work.left_minutes")
    over = translate(language, "work.over_hours" if hours else "work.over_minutes")
    shown = (over if minutes < 0 else left).replace("{m}", str(abs(minutes))).replace(
        "{h}", str(abs(minutes) // 60))
    return Deadline(moment.strftime("%Y-%m-%dT%H:%M:%SZ"), local_time(request, moment),
                    minutes < 0, shown, left, over)


def minutes_between(start: Timestamp, end: Timestamp | datetime) -> int:
    stop = end.ToDatetime(tzinfo=UTC) if isinstance(end, Timestamp) else end
    return max(0, int((stop - start.ToDatetime(tzinfo=UTC)).total_seconds() // 60))


async def _lookup(request: Request, method: str, messages: dict[str, object]
                  ) -> dict[str, object]:
    """Calls the registry once per id at the same time; an id the worker may not see or a
    registry that is down leaves that id out (the page shows a stand-in)."""
    ids = list(messages)
    replies = await asyncio.gather(*(call(request, "registry", method, messages[i])
                                     for i in ids), return_exceptions=True)
    found: dict[str, object] = {}
    for key, reply in zip(ids, replies, strict=True):
        if isinstance(reply, SessionEnded):
            raise reply
        if not isinstance(reply, BaseException):
            found[key] = reply
    return found


async def person_names(request: Request, ids: Iterable[str]) -> dict[str, str]:
    unique = {i: rpb.GetPersonRequest(person_id=i) for i in ids if i}
    found = await _lookup(request, "GetPerson", dict(unique))
    return {key: person.name for key, person in found.items()
            if isinstance(person, rpb.Person)}


async def households(request: Request, ids: Iterable[str]) -> dict[str, rpb.Household]:
    unique = {i: rpb.GetHouseholdRequest(household_id=i) for i in ids if i}
    found = await _lookup(request, "GetHousehold", dict(unique))
    return {key: h for key, h in found.items() if isinstance(h, rpb.Household)}


async def person_choices(request: Request, grid_code: str = "") -> list[tuple[str, str]]:
    """The active persons of the worker's jurisdictions (of one grid if given) as choices of a
    form: name and address (two residents may share a name), sorted by name."""
    reply = await call(request, "registry", "ListPersons",
                       rpb.ListPersonsRequest(page_size=MAX_PERSONS))
    persons = [p for p in reply.persons if not grid_code or p.grid_code == grid_code]
    persons.sort(key=lambda p: (p.name, p.address, p.person_id))
    return [(p.person_id, f"{p.name}（{p.address}）" if p.address else p.name)
            for p in persons]
