"""Signing in and out, and choosing the language."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from console.adapters.issuer import IssuerUnavailable, SignInLocked, SignInRefused
from console.adapters.session import COOKIE, Session
from console.i18n import LANGS, translate
from console.web import (
    LANG_COOKIE,
    console,
    current_session,
    form_values,
    lang,
    render,
    session,
    signed_in,
)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this console only (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


async def login_page(request: Request) -> Response:
    if current_session(request) is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    notice = ("login.expired" if request.query_params.get("expired") else
              "login.signed_out" if request.query_params.get("signed_out") else "")
    return render(request, "login.html", next=safe_next(request.query_params.get("next")),
                  values={}, errors={}, problem="", notice=notice)


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host")


async def login(request: Request) -> Response:
    form = await form_values(request)
    target = safe_next(form.get("next"))
    t = lang(request)
    username, password = form.get("username", "").strip(), form.get("password", "")
    errors: dict[str, str] = {}
    if not username:
        errors["username"] = translate(t, "login.username_required")
    if not password:
        errors["password"] = translate(t, "login.password_required")
    problem, status = "", 400
    if not _same_origin(request):
        problem, status = "error.csrf", 403
    elif not errors:
        parts = console(request)
        try:
            signed = await parts.issuer.sign_in(username, password)
        except SignInRefused:
            problem, status = "login.refused", 401
        except SignInLocked:
            problem, status = "login.locked", 429
        except IssuerUnavailable:
            problem, status = "login.unavailable", 503
        else:
            caller = signed.verified.caller
            session = Session(signed.token, caller.subject, caller.role, caller.scopes,
                              signed.verified.expires_at)
            response = RedirectResponse(target, status_code=303)
            response.set_cookie(COOKIE, parts.sealer.seal(session),
                                max_age=max(1, session.expires_at - int(time.time())), path="/",
                                secure=parts.settings.cookie_secure, httponly=True,
                                samesite="lax")
            return response
    return render(request, "login.html", status=status, next=target,
                  values={"username": username}, errors=errors, problem=problem, notice="")




@signed_in
async def logout(request: Request) -> Response:
    await console(request).issuer.revoke(session(request).token)
    response = RedirectResponse("/login?signed_out=1", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


async def choose_lang(request: Request) -> Response:
    chosen = request.query_params.get("to", "")
    response = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    if chosen in LANGS:
        response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 86400, path="/", samesite="lax",
                            secure=console(request).settings.cookie_secure, httponly=True)
    return response


routes = [Route("/login", login_page, methods=["GET"]),
          Route("/login", login, methods=["POST"]),
          Route("/logout", logout, methods=["POST"]),
          Route("/lang", choose_lang, methods=["GET"])]
