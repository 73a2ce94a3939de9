"""The worker console in a real browser against the real stack: the five services of the
session, the local identity issuer (its password sign-in), the console as its own process, and
Debian's Chromium driven by Playwright. axe-core checks every page a test visits.

Screenshots of the pages (phone and desk widths) are saved under .local/screenshots (not
committed)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

import devstack
from tests.helpers import Tree, make_tree

ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = ROOT / ".local" / "screenshots"
CHROMIUM = os.environ.get("CDSP_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "console-" + secrets.token_hex(8)
# axe-core's rules of WCAG 2.0, 2.1 and 2.2 at levels A and AA.
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                                     "wcag22aa"]},
               "resultTypes": ["violations"]}
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 900}


@dataclass
class Site:
    url: str
    tree: Tree
    stack: devstack.Stack

    def users(self) -> dict[str, str]:
        """username -> the jurisdiction they cover."""
        return {"con-gw1": self.tree.grid_paths[0], "con-gw2": self.tree.grid_paths[1],
                "con-cw": self.tree.community_path, "con-sw": self.tree.community_path,
                "con-admin": self.tree.city_path}


@pytest.fixture(scope="session")
def site(stack: devstack.Stack, registry: str, aid: str, notification: str, employment: str,
         volunteer: str) -> Iterator[Site]:
    """A console of the session's stack, on ports of its own, with sign-ins for a city of its
    own (grid workers of each grid, a community worker, a social worker, a city admin)."""
    own = devstack.Stack(state_dir=stack.state_dir / "console", pg_port=stack.pg_port,
                         kafka_port=stack.kafka_port, port_offset=stack.port_offset,
                         metrics_offset=(stack.metrics_offset or 0) + 8,
                         identity_dir=stack.identity.folder,
                         console_port=21000 + (stack.pg_port - 26000))
    own.state_dir.mkdir(parents=True, exist_ok=True)
    tree = make_tree(registry)
    site = Site(own.console_url(), tree, own)
    roles = {"con-gw1": "grid_worker", "con-gw2": "grid_worker", "con-cw": "community_worker",
             "con-sw": "social_worker", "con-admin": "city_admin"}
    own.identity.ensure().write_users(
        [{"username": name, "role": roles[name], "scopes": [scope]}
         for name, scope in site.users().items()], PASSWORD)
    devstack.start_issuer(own)
    devstack.start_console(own)
    try:
        yield site
    finally:
        devstack.stop_service(own, "console")
        devstack.stop_issuer(own)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one test module. Not for the session: Playwright's sync API keeps an event
    loop running in this thread while it is open, and the asyncio tests that run after the
    console's (tests/unit) could not start theirs."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    made = browser.new_context(locale="zh-CN", viewport=DESK, timezone_id="Asia/Shanghai")
    made.set_default_timeout(15_000)
    yield made
    made.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def sign_in(page: Page, site: Site, username: str, next_path: str = "/") -> None:
    page.goto(f"{site.url}/login?next={next_path}")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    if "/login" in page.url:
        log = (site.stack.state_dir / "console.log").read_text()[-2000:]
        raise AssertionError(f"sign-in failed: {page.locator('main').inner_text()}\n{log}")


_axe = Axe()


def accessible(page: Page) -> None:
    """axe-core finds no WCAG 2.x A/AA violation on the page as it is now."""
    results = _axe.run(page, options=AXE_OPTIONS)
    assert results.violations_count == 0, (f"{page.url}:\n" + results.generate_report())


def screenshot(page: Page, name: str) -> None:
    """The page at phone and desk widths, saved for people to look at (not committed)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    for label, viewport in (("phone", PHONE), ("desk", DESK)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
    if size:
        page.set_viewport_size(size)
