"""Helpers of the daily work pages' browser tests: people and households of the site's own city
that the aid service knows, unique names to find them on a page, the raw size of a page."""

from __future__ import annotations

import secrets

from playwright.sync_api import Page

import devstack
from cdsp.registry.v1 import registry_pb2 as rpb
from tests.aid_helpers import wait_projected
from tests.integration.console.conftest import Site

MAX_PAGE_BYTES = 200_000
_DIGITS = "零一二三四五六七八九"


def unique(prefix: str) -> str:
    """A name no other test uses (a person's name, an address), in Chinese characters."""
    return prefix + "".join(_DIGITS[int(c, 16) % 10] for c in secrets.token_hex(3))


def household(site: Site, grid: int = 0, income_fen: int = 250_000) -> rpb.Household:
    """A household of the site's city with an address of its own."""
    return site.tree.admin.CreateHousehold(rpb.CreateHouseholdRequest(
        grid_code=site.tree.grids[grid], address=unique("幸福路") + "号",
        monthly_income_fen=income_fen))


def projected_person(site: Site, stack: devstack.Stack, home: rpb.Household,
                     name: str = "") -> rpb.Person:
    """A person registered in `home`, once the aid service's projection knows them."""
    person = site.tree.register(home, name=name or unique("居民"))
    wait_projected(stack.database_url("aid"), [person.person_id])
    return person


def page_is_small(page: Page, site: Site, path: str) -> None:
    """The page as the server sends it (the worker's cookies) is under 200 KB."""
    response = page.context.request.get(site.url + path)
    assert response.ok, (path, response.status)
    assert len(response.body()) < MAX_PAGE_BYTES, (path, len(response.body()))
