"""Signing in and out of the console, the frame every page shares, the session cookie, the
language, and the error pages."""

from __future__ import annotations

import json
import time
import urllib.request

import jwt
from playwright.sync_api import BrowserContext, Page, expect

from console.adapters.session import SessionSealer
from console.config import parse_session_keys
from tests.integration.console.conftest import PASSWORD, Site, accessible, screenshot, sign_in


def test_sign_in_shows_who_and_jurisdictions_then_sign_out(site: Site, page: Page,
                                                         context: BrowserContext) -> None:
    page.goto(site.url + "/")
    expect(page).to_have_url(site.url + "/login?next=/")
    accessible(page)
    sign_in(page, site, "con-gw1")
    expect(page.get_by_role("heading", level=1)).to_have_text("首页")
    expect(page.locator("main")).to_contain_text("网格员")
    expect(page.locator("main")).to_contain_text(site.tree.grid_paths[0])
    accessible(page)
    screenshot(page, "home")
    cookie = next(c for c in context.cookies() if c["name"] == "cdsp_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert PASSWORD not in cookie["value"] and "con-gw1" not in cookie["value"]
    page.get_by_role("button", name="退出登录").click()
    expect(page.locator(".notice")).to_contain_text("您已退出登录")
    page.goto(site.url + "/")
    expect(page).to_have_url(site.url + "/login?next=/")


def test_wrong_password_and_empty_fields_are_explained(site: Site, page: Page) -> None:
    page.goto(site.url + "/login")
    page.get_by_role("button", name="登录").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("请输入用户名")
    expect(page.locator("#f-password-error")).to_contain_text("请输入密码")
    accessible(page)
    page.get_by_label("用户名").fill("con-gw1")
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录").click()
    expect(summary).to_contain_text("用户名或密码不正确")
    expect(page.get_by_label("用户名")).to_have_value("con-gw1")


def test_english_and_back(site: Site, page: Page) -> None:
    sign_in(page, site, "con-cw")
    page.get_by_role("link", name="Switch to English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Home")
    accessible(page)
    page.goto(site.url + "/no-such-page")
    expect(page.locator("main")).to_contain_text("The page or record was not found.")
    accessible(page)
    page.get_by_role("link", name="切换到中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")


def test_an_altered_or_foreign_cookie_is_no_session(site: Site, page: Page,
                                                    context: BrowserContext) -> None:
    sign_in(page, site, "con-gw1")
    cookie = next(c for c in context.cookies() if c["name"] == "cdsp_session")
    kid, _, sealed = cookie["value"].partition(".")
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    context.add_cookies([{**cookie, "value": f"{kid}.{flipped}"}])
    page.goto(site.url + "/")
    expect(page).to_have_url(site.url + "/login?next=/&expired=1")
    expect(page.locator(".notice")).to_contain_text("您的登录已过期")


def test_pages_carry_security_headers_and_no_store(site: Site) -> None:
    with urllib.request.urlopen(site.url + "/login", timeout=5) as response:  # noqa: S310
        headers = response.headers
    assert headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "same-origin"


def test_signing_out_revokes_the_token_at_the_issuer(site: Site, page: Page,
                                                     context: BrowserContext) -> None:
    """A copy of the session cookie taken before signing out (a shared computer) is worth
    nothing after: the token inside was revoked, not only the cookie dropped."""
    sign_in(page, site, "con-sw")
    before = site.stack.identity.revocations().get("tokens", {})
    page.get_by_role("button", name="退出登录").click()
    expect(page.locator(".notice")).to_contain_text("您已退出登录")
    after = site.stack.identity.revocations().get("tokens", {})
    assert len(set(after) - set(before)) == 1


def _token_in(site: Site, context: BrowserContext) -> str:
    """The token inside the browser's session cookie (opened with the console's own key)."""
    keys = json.loads((site.stack.state_dir / "console-keys.json").read_text())
    sealer = SessionSealer(parse_session_keys(keys["CDSP_CONSOLE_SESSION_KEYS"]))
    cookie = next(c for c in context.cookies() if c["name"] == "cdsp_session")
    session = sealer.open(cookie["value"])
    assert session is not None
    return session.token


def test_a_session_that_ends_returns_to_the_page_after_signing_in_again(
        site: Site, page: Page, context: BrowserContext) -> None:
    """The worker's token is revoked while they work (or it expires): the next page that
    calls a service sends them to sign in, and back to that very page (with its filters)."""
    sign_in(page, site, "con-cw")
    claims = jwt.decode(_token_in(site, context), options={"verify_signature": False})
    site.stack.identity.revoke(claims["jti"], expires_at=claims["exp"])
    wanted = "/persons?category=2&certified=true"
    deadline = time.monotonic() + 10  # the services read the revocation list every second
    while True:
        page.goto(site.url + wanted)
        if "/login" in page.url or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert "/login" in page.url and "expired=1" in page.url
    expect(page.locator(".notice")).to_contain_text("您的登录已过期")
    accessible(page)
    page.get_by_label("用户名").fill("con-cw")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(site.url + wanted)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
