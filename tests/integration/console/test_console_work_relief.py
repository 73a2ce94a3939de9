"""Temporary relief in the browser: a community worker grants relief on a case within the
budget and sees the budget left go down; a grant over the case's cap (1.5 × the city's minimum
living standard of 930 yuan: 1,395 yuan) is refused with the reason beside the amount."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

import devstack
from tests.aid_helpers import aid_admin, open_case, wait_jurisdictions
from tests.integration.console.conftest import Site, accessible, sign_in
from tests.integration.console.work_helpers import household, page_is_small, projected_person


def fen_of(text: str) -> int:
    whole, cents = re.sub(r"[¥,\s]", "", text).split(".")
    return int(whole) * 100 + int(cents)


def test_a_grant_within_the_budget_then_one_over_the_cap(site: Site, page: Page, aid: str,
                                                         stack: devstack.Stack) -> None:
    home = household(site, 1)
    projected_person(site, stack, home)
    wait_jurisdictions(stack.database_url("aid"), [site.tree.city])
    case = open_case(aid_admin(site.tree, aid), home.household_id)

    sign_in(page, site, "con-cw", "/relief")
    expect(page.get_by_role("heading", level=1)).to_have_text("临时救助")
    expect(page.locator("main")).to_contain_text(site.tree.community_path)  # its budget
    accessible(page)
    page_is_small(page, site, "/relief")
    page.get_by_role("link", name=home.address).click()
    expect(page).to_have_url(f"{site.url}/relief/{case.case_id}")
    expect(page.locator("dl.summary")).to_contain_text("¥1,395.00")  # the cap of the case
    left = page.locator("#budget-left")
    before = fen_of(left.inner_text())
    accessible(page)
    page_is_small(page, site, f"/relief/{case.case_id}")

    page.get_by_label("救助金额（元）").fill("500")
    page.get_by_label("救助理由").fill("突发意外，医药费")
    page.get_by_role("button", name="发放").click()
    expect(page.get_by_role("status")).to_contain_text(
        "已发放¥500.00。本案累计已发放¥500.00，上限¥1,395.00。")
    assert fen_of(left.inner_text()) == before - 50_000
    accessible(page)

    page.get_by_label("救助金额（元）").fill("1,000")
    page.get_by_label("救助理由").fill("后续康复费用")
    page.get_by_role("button", name="发放").click()
    beside = page.locator("#f-amount-error")
    expect(beside).to_contain_text("超过每案上限¥1,395.00")
    expect(beside).to_contain_text("本案已发放¥500.00，本次超出¥105.00")
    expect(page.locator(".error-summary")).to_be_focused()
    expect(page.get_by_label("救助金额（元）")).to_have_value("1,000")
    expect(page.get_by_label("救助理由")).to_have_value("后续康复费用")
    assert fen_of(left.inner_text()) == before - 50_000  # nothing spent
    accessible(page)


def test_a_grid_worker_sees_the_cases_but_does_not_grant(site: Site, page: Page) -> None:
    sign_in(page, site, "con-gw1", "/relief")
    expect(page.locator(".notice")).to_contain_text("临时救助由社区专干、社工及以上人员审批发放")
    expect(page.get_by_role("button", name="发放")).to_have_count(0)
    accessible(page)
