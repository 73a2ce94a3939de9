"""Text resized to 200 % and a 320 px wide screen (WCAG 1.4.4 and 1.4.10): every main page
still fits its width (no scrolling sideways to read; data tables may scroll inside their own
box), nothing is cut off, and the pages stay accessible."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.integration.console.conftest import Site, accessible, sign_in

PAGES = ("/", "/persons", "/verification", "/warnings", "/requests", "/relief", "/kits",
         "/inbox", "/stats", "/persons/new")


def _overflow(page: Page) -> int:
    """How far the page is wider than the window, in CSS pixels."""
    return int(page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"))


@pytest.mark.parametrize("path", PAGES)
def test_a_page_reflows_at_320_px_and_with_text_at_200_percent(site: Site, page: Page,
                                                               path: str) -> None:
    sign_in(page, site, "con-cw", path)
    page.set_viewport_size({"width": 320, "height": 640})
    page.wait_for_load_state()
    assert _overflow(page) <= 0, f"{path} scrolls sideways at 320 px"
    page.set_viewport_size({"width": 1280, "height": 900})
    normal = float(page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)"))
    page.evaluate("document.documentElement.style.fontSize = '200%'")
    assert float(page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")) \
        >= 1.9 * normal  # the text really is twice as large
    assert _overflow(page) <= 0, f"{path} scrolls sideways with text at 200 %"
    accessible(page)
