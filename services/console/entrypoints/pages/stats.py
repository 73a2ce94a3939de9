"""Pages: stats (to be built)."""

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
