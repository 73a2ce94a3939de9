"""The event catalogue in a real browser: /events answers without signing in, shows every
topic with its event types and each event type with its fields, is accessible, fits a phone's
width, speaks English when asked, and links the AsyncAPI document, which /events/asyncapi.yaml
serves exactly as docs/events holds it."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from playwright.sync_api import Page, expect

from tests.integration.console.conftest import SCREENSHOTS, Site, accessible, sign_in

CATALOGUE = Path(__file__).resolve().parents[3] / "docs" / "events"


def _overflow(page: Page) -> int:
    return int(page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"))


def test_the_catalogue_needs_no_sign_in_and_lists_topics_and_event_types(site: Site,
                                                                        page: Page) -> None:
    page.goto(f"{site.url}/events")
    expect(page).to_have_url(f"{site.url}/events")  # not sent to /login
    expect(page.get_by_role("heading", level=1)).to_have_text("事件目录")
    assert page.locator("h1").count() == 1
    expect(page.get_by_role("navigation", name="主导航")).to_have_count(0)  # nobody signed in
    topic = page.get_by_role("heading", level=3, name="cdsp.registry.v1", exact=True)
    expect(topic).to_be_visible()
    table = page.get_by_role("table", name="cdsp.registry.v1 上的事件类型")
    row = table.locator("tr[data-event='PersonRegistered']")
    expect(row.get_by_role("rowheader")).to_have_text("PersonRegistered")
    expect(row.locator("td").first).to_have_text("{person.person_id}")
    expect(row.locator("td").last).to_have_attribute("lang", "en")  # the protos' English
    row.get_by_role("link", name="PersonRegistered").click()
    expect(page).to_have_url(f"{site.url}/events#event-PersonRegistered")
    fields = page.get_by_role("table", name="PersonRegistered 的字段")
    expect(fields.get_by_role("rowheader")).to_have_text(["person"])
    expect(fields.get_by_role("link", name="PersonSnapshot")).to_have_attribute(
        "href", "#type-PersonSnapshot")
    contacts = page.locator("#topic-cdsp-registry-contacts-v1")
    expect(contacts).to_contain_text("受限")
    expect(page.get_by_role("table", name="cdsp.audit.v1 上的事件类型").locator(
        "tr[data-event]")).to_have_count(2)
    accessible(page)
    # the window only: the whole page (every event type's fields) is too tall to shoot in time
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "events-desk.png"))


def test_the_catalogue_fits_a_phone_and_speaks_english(site: Site, page: Page) -> None:
    page.goto(f"{site.url}/lang?to=en&next=/events")
    expect(page.get_by_role("heading", level=1)).to_have_text("Event catalogue")
    expect(page.get_by_role("heading", level=2, name="Delivery guarantees")).to_be_visible()
    expect(page.locator("#events-guarantees")).to_be_visible()
    expect(page.locator("main")).to_contain_text("De-duplicate by event_id")
    expect(page.get_by_role("table", name="Event types on cdsp.aid.v1").locator(
        "tr[data-event='WarningRaised']")).to_contain_text("{case_id}")
    assert page.locator("td[lang='en']").count() == 0  # the page is English already
    page.set_viewport_size({"width": 320, "height": 640})
    assert _overflow(page) <= 0, "/events scrolls sideways at 320 px"
    accessible(page)


def test_the_asyncapi_document_is_served_as_generated(site: Site, page: Page) -> None:
    page.goto(f"{site.url}/events")
    link = page.get_by_role("link", name="AsyncAPI 3.0 文档（YAML）")
    expect(link).to_have_attribute("href", "/events/asyncapi.yaml")
    reply = page.request.get(f"{site.url}/events/asyncapi.yaml")
    assert reply.ok and reply.headers["content-type"].startswith("text/yaml"), reply.headers
    assert reply.text() == (CATALOGUE / "asyncapi.yaml").read_text(encoding="utf-8")
    document = yaml.safe_load(reply.text())
    assert document["asyncapi"] == "3.0.0"
    assert "cdsp.registry.v1" in document["channels"]
    reply = page.request.get(f"{site.url}/events/asyncapi.json")
    assert reply.ok and reply.headers["content-type"].startswith("application/json")
    assert json.loads(reply.text()) == document


def test_a_signed_in_worker_keeps_the_menu_on_the_catalogue(site: Site, page: Page) -> None:
    sign_in(page, site, "con-cw", "/events")
    expect(page).to_have_url(f"{site.url}/events")
    expect(page.get_by_role("navigation", name="主导航")).to_be_visible()
    expect(page.get_by_role("button", name="退出登录")).to_be_visible()
