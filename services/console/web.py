"""What every page handler shares: the console's parts on the app, the signed-in session, the
language, rendering a template with the frame's context, the CSRF check, calling a service with
the worker's token."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from google.protobuf.timestamp_pb2 import Timestamp
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from console.adapters.backends import Backends
from console.adapters.issuer import Issuer
from console.adapters.session import COOKIE, Session, SessionSealer
from console.config import ConsoleSettings
from console.i18n import pick_lang, translate
from console.i18n.rules import explain_rule

TEMPLATES = Path(__file__).resolve().parent / "templates"
LANG_COOKIE = "cdsp_lang"

templates = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(),
                        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                        extensions=["jinja2.ext.do"])


@dataclass(frozen=True)
class FieldError:
    """A field's message: `label` names the field in the error summary; `lang` is set when the
    text is the service's own English words (no translation known), so a screen reader reads
    it in the right voice."""

    label: str
    text: str
    lang: str = ""


def field_errors(language: str, fields: dict[str, str],
                 labels: dict[str, str]) -> dict[str, FieldError]:
    """A service's BadRequest field violations as the page shows them: each under its field's
    label, in the worker's language where the rule's words are known."""
    shown: dict[str, FieldError] = {}
    for name, description in fields.items():
        text = explain_rule(language, description)
        label = labels.get(name) or labels.get(name.split("[")[0].split(".")[0]) or name
        shown[name] = FieldError(label, text or description, "" if text else "en")
    return shown


@dataclass
class Console:
    settings: ConsoleSettings
    sealer: SessionSealer
    backends: Backends
    issuer: Issuer


class CsrfFailed(Exception):
    pass


def console(request: Request) -> Console:
    parts: Console = request.app.state.console
    return parts


def lang(request: Request) -> str:
    return pick_lang(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))


def session(request: Request) -> Session:
    """The signed-in worker (handlers wrapped in `signed_in` only)."""
    found: Session = request.state.session
    return found


def current_session(request: Request) -> Session | None:
    return console(request).sealer.open(request.cookies.get(COOKIE))


def local_time(request: Request, value: Timestamp | datetime | None,
               fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time in the people's time zone, or "" for an unset timestamp."""
    if isinstance(value, Timestamp):
        if not value.seconds and not value.nanos:
            return ""
        value = value.ToDatetime(tzinfo=UTC)
    if value is None:
        return ""
    return value.astimezone(console(request).settings.local_tz).strftime(fmt)


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    language = lang(request)
    signed = getattr(request.state, "session", None)
    body = templates.get_template(name).render(
        request=request, lang=language, session=signed,
        csrf=signed.csrf if signed else "",
        t=functools.partial(translate, language),
        local_time=functools.partial(local_time, request),
        path=request.url.path, here=_here(request), **context)
    return HTMLResponse(body, status_code=status)


def _here(request: Request) -> str:
    query = f"?{request.url.query}" if request.url.query else ""
    return request.url.path + query


def login_redirect(request: Request, expired: bool = False) -> RedirectResponse:
    target = f"/login?next={quote(_here(request) if request.method == 'GET' else request.url.path)}"
    response = RedirectResponse(target + ("&expired=1" if expired else ""), status_code=303)
    if expired:
        response.delete_cookie(COOKIE, path="/")
    return response


Handler = Callable[[Request], Awaitable[Response]]


def signed_in(handler: Handler) -> Handler:
    """Pages for a signed-in worker: no session sends them to sign in and back here after;
    a post must carry the session's CSRF token."""

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        found = current_session(request)
        if found is None:
            return login_redirect(request, expired=COOKIE in request.cookies)
        request.state.session = found
        if request.method == "POST":
            form = await request.form()
            if form.get("csrf") != found.csrf:
                raise CsrfFailed()
        return await handler(request)

    return wrapper


async def call(request: Request, service: str, method: str, message: Any) -> Any:
    """A call to `service` with the signed-in worker's token."""
    return await console(request).backends.call(session(request).token, service, method,
                                                message)


async def form_values(request: Request) -> dict[str, str]:
    """The posted form as text fields (a repeated field keeps its last value; use
    `form_lists` for those)."""
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


async def form_lists(request: Request, name: str) -> list[str]:
    form = await request.form()
    return [value for value in form.getlist(name) if isinstance(value, str) and value]
