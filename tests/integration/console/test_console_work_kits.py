"""Emergency kits in the browser: a grid worker replenishes wheelchairs, lends one to a person
and takes it back by its loan number; the stock follows."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

import devstack
from tests.integration.console.conftest import Site, accessible, sign_in
from tests.integration.console.work_helpers import household, page_is_small, projected_person


def test_replenish_lend_and_return_a_wheelchair(site: Site, page: Page,
                                                stack: devstack.Stack) -> None:
    grid = site.tree.grids[0]
    person = projected_person(site, stack, household(site, 0))
    sign_in(page, site, "con-gw1", "/kits")
    expect(page.get_by_role("heading", level=1)).to_have_text("暖心应急包")
    accessible(page)

    page.get_by_label("网格", exact=True).select_option(grid)
    page.get_by_label("物品", exact=True).select_option("wheelchair")
    page.get_by_label("数量").fill("2")
    page.get_by_role("button", name="补充", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("已补充物资")
    table = page.locator("table", has=page.locator("caption", has_text=f"网格 {grid} "))
    row = table.locator("tbody tr", has_text="轮椅")
    shelf = row.locator("td").nth(1)
    held = int(shelf.inner_text())
    assert held >= 2
    accessible(page)
    page_is_small(page, site, "/kits")

    row.get_by_role("link", name=re.compile("^借出")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("借出轮椅")
    accessible(page)
    page.get_by_label("借用人").select_option(person.person_id)
    page.get_by_role("button", name="借出").click()
    banner = page.get_by_role("status")
    expect(banner).to_contain_text("已借出。借用编号：")
    loan = re.search(r"[0-9a-f-]{36}", banner.inner_text())
    assert loan is not None
    assert int(shelf.inner_text()) == held - 1

    page.get_by_label("借用编号").fill(loan.group(0))
    page.get_by_role("button", name="确认归还").click()
    expect(page.get_by_role("status")).to_contain_text("已归还入库")
    assert int(shelf.inner_text()) == held
    accessible(page)
