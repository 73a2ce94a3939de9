"""Signing in and out of the console, the frame every page shares, the session cookie, the
language, and the error pages."""

from __future__ import annotations

import urllib.request

from playwright.sync_api import BrowserContext, Page, expect

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
