"""The home page: who the worker is, the jurisdictions they cover, what they can do."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from console.web import render, session, signed_in

# What each kind of worker finds on the home page (the pages their role may use).
TASKS = {
    "grid_worker": ("persons", "verification", "warnings", "requests", "kits", "inbox"),
    "community_worker": ("persons", "verification", "warnings", "requests", "relief", "kits",
                         "inbox", "stats"),
    "social_worker": ("persons", "verification", "warnings", "requests", "relief", "inbox",
                      "stats"),
}
ADMIN_TASKS = ("stats", "persons", "warnings", "requests", "relief", "inbox")


@signed_in
async def home(request: Request) -> Response:
    signed = session(request)
    until = datetime.fromtimestamp(signed.expires_at, UTC)
    return render(request, "home.html", tasks=TASKS.get(signed.role, ADMIN_TASKS), until=until)


routes = [Route("/", home, methods=["GET"])]
