"""The worker's inbox in a real browser: the notices of the worker's inboxes, a red warning of
their grid arriving live (server-sent events relayed from StreamInbox) and announced, the event
stream's answers without a session, after the session ends and while the notification service
is down, and no stream left open at the service once the browser has gone."""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from prometheus_client.parser import text_string_to_metric_families

import devstack
from cdsp.aid.v1 import aid_pb2 as apb
from cdsp.events.v1 import aid_pb2 as ev
from tests.aid_helpers import aid_admin, wait_projected
from tests.helpers import session_identity
from tests.integration.console.conftest import Site, accessible, screenshot, sign_in
from tests.notification_helpers import NotificationDb, wait_until

MAX_PAGE_BYTES = 200 * 1024


def metric(port: int, name: str, **labels: str) -> float:
    """A sample of a process's /metrics (0 when the series is not there yet)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def console_streams(site: Site) -> float:
    return metric(devstack.CONSOLE_METRICS_PORT + (site.stack.metrics_offset or 0),
                  "cdsp_console_inbox_streams")


def streams_ended(site: Site) -> float:
    return sum(metric(devstack.CONSOLE_METRICS_PORT + (site.stack.metrics_offset or 0),
                      "cdsp_console_inbox_streams_ended_total", outcome=outcome)
               for outcome in ("end", "closed", "retry"))


def service_streams(stack: devstack.Stack) -> float:
    return metric(stack.metrics_port("notification"), "cdsp_notification_inbox_streams")


def no_streams_open(site: Site, stack: devstack.Stack) -> None:
    """Nothing left open: not at the console, not at the notification service."""
    wait_until(lambda: console_streams(site) == 0 and service_streams(stack) == 0,
               "no inbox stream open at the console or the notification service", timeout=20)


def session_cookie(context: BrowserContext) -> str:
    cookie = next(c for c in context.cookies() if c["name"] == "cdsp_session")
    return f"cdsp_session={cookie['value']}"


def open_stream(url: str, cookie: str = "") -> tuple[http.client.HTTPConnection,
                                                      http.client.HTTPResponse]:
    host, _, port = url.removeprefix("http://").partition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request("GET", "/inbox/stream", headers={"Cookie": cookie} if cookie else {})
    return connection, connection.getresponse()


def page_bytes(page: Page) -> int:
    return len(page.content().encode())


def test_a_red_warning_of_the_grid_arrives_live_and_is_announced(
        site: Site, page: Page, aid: str, notify_db: NotificationDb,
        stack: devstack.Stack) -> None:
    tree = site.tree
    household = tree.household(0, income_fen=300_000)
    person = tree.register(household)
    wait_projected(stack.database_url("aid"), [person.person_id])
    notify_db.wait_recipients([person.person_id])
    no_streams_open(site, stack)

    sign_in(page, site, "con-gw1", "/inbox")
    expect(page.get_by_role("heading", level=1)).to_have_text("消息")
    expect(page.locator("#inbox-list")).to_be_attached()
    accessible(page)
    # Subscribed: the worker's own inbox and their grid team's, one browser stream.
    wait_until(lambda: service_streams(stack) == 2 and console_streams(site) == 1,
               "the page's inbox streams open", timeout=20)
    before = page.locator("#inbox-list > li").count()

    red = aid_admin(tree, aid).ReportHardship(apb.ReportHardshipRequest(
        household_id=household.household_id, kind=apb.HARDSHIP_KIND_MEDICAL_SPENDING,
        amount_fen=200_000))
    assert red.level == ev.WARNING_LEVEL_RED

    first = page.locator("#inbox-list > li").first
    expect(page.locator("#inbox-list > li")).to_have_count(before + 1, timeout=30_000)
    expect(first).to_contain_text("红色预警")
    expect(first).to_have_class("card notice-item urgent")
    expect(first.locator(".muted")).to_contain_text("紧急")
    expect(page.locator("#live-urgent")).to_have_text("紧急消息：红色预警：我们来帮您")
    expect(page.locator("#inbox-empty")).to_have_count(0)
    badge = page.locator("#inbox-badge")
    expect(badge).to_be_visible()
    expect(badge).to_have_text("1")
    expect(badge).to_have_attribute("aria-label", "1 条新消息")
    accessible(page)
    screenshot(page, "inbox")
    assert page_bytes(page) < MAX_PAGE_BYTES

    page.reload()  # the same notice from ListInbox, first, with its urgency in words
    first = page.locator("#inbox-list > li").first
    expect(first).to_contain_text("红色预警")
    expect(first).to_have_class("card notice-item urgent")
    expect(first.locator(".muted")).to_contain_text("紧急")
    expect(first.locator(".muted")).to_contain_text("发给：网格团队")  # the grid's name: 网格
    accessible(page)
    assert page_bytes(page) < MAX_PAGE_BYTES

    page.close()  # the browser leaves: its streams end at the console and at the service
    no_streams_open(site, stack)


def test_an_empty_inbox_says_so_in_english(site: Site, page: Page) -> None:
    sign_in(page, site, "con-admin")
    page.context.add_cookies([{"name": "cdsp_lang", "value": "en", "url": site.url}])
    page.goto(site.url + "/inbox")
    expect(page.get_by_role("heading", level=1)).to_have_text("Inbox")
    expect(page.locator("#inbox-empty")).to_have_text("There are no notices yet.")
    expect(page.locator("#inbox-list")).to_be_attached()
    accessible(page)


def test_the_stream_answers_401_without_a_session(site: Site) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(site.url + "/inbox/stream", timeout=5)  # noqa: S310
    assert refused.value.code == 401
    assert refused.value.headers["Location"] is None
    assert refused.value.headers["Cache-Control"] == "no-store"


def test_a_dropped_connection_cancels_the_service_streams(
        site: Site, page: Page, context: BrowserContext, stack: devstack.Stack) -> None:
    sign_in(page, site, "con-gw2", "/inbox")
    accessible(page)
    cookie = session_cookie(context)
    page.close()
    no_streams_open(site, stack)
    connection, answer = open_stream(site.url, cookie)
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/event-stream")
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.readline() == b": inbox\n"
    wait_until(lambda: service_streams(stack) == 2 and console_streams(site) == 1,
               "the stream's inboxes subscribed at the service")
    answer.close()  # the browser goes without reading on
    connection.close()
    no_streams_open(site, stack)


def test_the_stream_says_end_when_the_session_ends(
        site: Site, page: Page, context: BrowserContext, stack: devstack.Stack) -> None:
    """The browser closes its EventSource on `end`: it does not come back every few seconds
    with a session the services refuse."""
    sign_in(page, site, "con-sw", "/inbox")
    accessible(page)
    wait_until(lambda: console_streams(site) == 1, "the page's stream open")
    connection, answer = open_stream(site.url, session_cookie(context))
    assert answer.readline() == b": inbox\n"
    ended_before = streams_ended(site)
    session_identity().revoke(subject="con-sw")  # every con-sw token issued until now
    try:
        assert answer.readline() == b"\n"
        rest = answer.read().decode()  # read to the end: the console closes the stream
        assert "event: end\ndata: {}\n\n" in rest, rest
        wait_until(lambda: streams_ended(site) >= ended_before + 2 and console_streams(site) == 0,
                   "both streams ended")
        settled = streams_ended(site)
        time.sleep(5)  # EventSource would reconnect after ~3 s had it not been told to stop
        assert streams_ended(site) == settled and console_streams(site) == 0
    finally:
        connection.close()
        time.sleep(1.1)  # con-sw signs in again from the next second on (other tests)


@pytest.fixture
def console_without_notification(site: Site) -> Iterator[Site]:
    """A second console of the same stack whose notification service is not there."""
    offset = (site.stack.metrics_offset or 0) + 1
    own = replace(site.stack, state_dir=site.stack.state_dir / "console-no-notification",
                  metrics_offset=offset, console_port=site.stack.console_port + 200, procs={})
    own.state_dir.mkdir(parents=True, exist_ok=True)
    devstack.start_console(own, token_url=f"{site.stack.issuer_url}/token",
                           extra_env={"CDSP_NOTIFICATION_ADDR": "127.0.0.1:9"})
    try:
        yield Site(own.console_url(), site.tree, own)
    finally:
        devstack.stop_service(own, "console")


def test_the_stream_asks_to_retry_later_while_the_notification_service_is_down(
        console_without_notification: Site, page: Page, context: BrowserContext) -> None:
    down = console_without_notification
    sign_in(page, down, "con-gw1", "/inbox")
    expect(page.locator("main")).to_contain_text("暂时无法使用")  # the list cannot be read
    accessible(page)
    page.goto(down.url + "/")  # a page of its own keeps working
    expect(page.get_by_role("heading", level=1)).to_have_text("首页")
    connection, answer = open_stream(down.url, session_cookie(context))
    try:
        assert answer.status == 200
        body = answer.read().decode()  # ends: EventSource comes back after 10 s
        assert body.endswith("retry: 10000\n\n"), body
        assert "event: end" not in body
    finally:
        connection.close()
