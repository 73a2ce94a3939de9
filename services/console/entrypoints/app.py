"""The console's web application: its routes (one module per group of pages), the static
assets it serves itself (no CDN), security headers on every answer, and the error pages."""

from __future__ import annotations

import contextlib
import importlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
from prometheus_client import Histogram
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from console.adapters.backends import Backends, CallFailed, SessionEnded
from console.adapters.issuer import Issuer
from console.adapters.session import SessionSealer
from console.config import AUDIENCE, ConsoleSettings
from console.i18n import translate
from console.web import Console, CsrfFailed, lang, login_redirect, render
from runtime.token_settings import load_token_settings
from runtime.tokens import TokenVerifier

log = logging.getLogger("cdsp.console")
STATIC = Path(__file__).resolve().parent.parent / "static"
# The page modules under console/entrypoints/pages: each has `routes`.
PAGES = ("auth", "home", "persons", "person_forms", "households", "verification", "warnings",
         "requests", "relief", "kits", "inbox", "stats", "events")
REQUEST_SECONDS = Histogram("cdsp_console_request_seconds", "Time to answer a page",
                            ["route", "status"],
                            buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5))
SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
     b"connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
     b"object-src 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class Headers:
    """Security headers on every answer; pages (not static assets) are never stored by a
    browser or a proxy: they hold personal data."""

    def __init__(self, app: ASGIApp, hsts: bool) -> None:
        self.app, self.hsts = app, hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        static = scope["path"].startswith("/static/")
        status, streaming = 500, False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, streaming
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                streaming = any(k == b"content-type" and v.startswith(b"text/event-stream")
                                for k, v in headers)
                headers.extend(SECURITY_HEADERS)
                if self.hsts:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            if not streaming:  # a live stream's lifetime is not a page's answer time
                route = scope.get("route")
                name = getattr(route, "path", "static" if static else "unmatched")
                REQUEST_SECONDS.labels(name, str(status)).observe(
                    time.perf_counter() - started)


def routes() -> list[BaseRoute]:
    found: list[BaseRoute] = []
    for name in PAGES:
        module = importlib.import_module(f"console.entrypoints.pages.{name}")
        found.extend(module.routes)
    found.append(Route("/healthz", lambda _: PlainTextResponse("ok")))
    found.append(Mount("/static", StaticFiles(directory=STATIC), name="static"))
    return found


def _error(request: Request, status: int, message: str, **context: Any) -> Response:
    return render(request, "error.html", status=status, message=message, **context)


async def session_ended(request: Request, exc: Exception) -> Response:
    return login_redirect(request, expired=True)


async def call_failed(request: Request, exc: Exception) -> Response:
    """A service's refusal no page handled itself."""
    assert isinstance(exc, CallFailed)
    t = lang(request)
    if exc.unavailable:
        service = translate(t, f"service.{exc.service}")
        return _error(request, 503, translate(t, "error.unavailable_page", service=service))
    if exc.code == grpc.StatusCode.PERMISSION_DENIED:
        return _error(request, 403, translate(t, "error.forbidden"))
    if exc.code == grpc.StatusCode.NOT_FOUND:
        return _error(request, 404, translate(t, "error.not_found"))
    return _error(request, 409 if exc.code == grpc.StatusCode.ABORTED else 400,
                  translate(t, "error.refused"), detail=exc.message)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    key = {403: "error.forbidden", 404: "error.not_found"}.get(exc.status_code,
                                                                "error.internal")
    return _error(request, exc.status_code, translate(lang(request), key))


async def csrf_failed(request: Request, exc: Exception) -> Response:
    return _error(request, 403, translate(lang(request), "error.csrf"))


async def internal(request: Request, exc: Exception) -> Response:
    log.exception("page failed: %s", request.url.path)
    return _error(request, 500, translate(lang(request), "error.internal"))


def create_app(settings: ConsoleSettings, verifier: TokenVerifier | None = None) -> Starlette:
    verifier = verifier or TokenVerifier(load_token_settings("console", settings.production))
    parts = Console(settings, SessionSealer(settings.session_keys),
                    Backends(settings.backends, settings.call_timeout_s),
                    Issuer(settings.token_url, verifier, settings.session_ttl_s, AUDIENCE,
                           settings.revoke_url, settings.client_id, settings.client_secret))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await verifier.load()
        verifier.start()
        await parts.backends.start()
        await parts.issuer.start()
        try:
            yield
        finally:
            await parts.issuer.stop()
            await parts.backends.stop()
            await verifier.stop()

    app = Starlette(routes=routes(), lifespan=lifespan, exception_handlers={
        SessionEnded: session_ended, CallFailed: call_failed, HTTPException: http_error,
        CsrfFailed: csrf_failed, Exception: internal})
    app.state.console = parts
    app.add_middleware(Headers, hsts=settings.cookie_secure)
    return app
