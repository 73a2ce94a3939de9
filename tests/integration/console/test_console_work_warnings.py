"""The warnings board in the browser: a red warning (monthly medical spending above half of the
household's income, reported through the aid API) appears under the red heading with its required
actions and their deadlines counting down; completing an action and resolving the case on the
case's page."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

import devstack
from cdsp.aid.v1 import aid_pb2 as pb
from tests.aid_helpers import aid_admin
from tests.integration.console.conftest import Site, accessible, screenshot, sign_in
from tests.integration.console.work_helpers import household, page_is_small, projected_person


def test_a_red_warning_on_the_board_and_an_action_completed(site: Site, page: Page, aid: str,
                                                           stack: devstack.Stack) -> None:
    home = household(site, 0, income_fen=300_000)
    projected_person(site, stack, home)
    reply = aid_admin(site.tree, aid).ReportHardship(pb.ReportHardshipRequest(
        household_id=home.household_id, kind=pb.HARDSHIP_KIND_MEDICAL_SPENDING,
        amount_fen=240_000, description="住院"))  # 80% of the household's income: red
    assert reply.level == 3 and reply.HasField("case")

    sign_in(page, site, "con-gw1", "/warnings")
    red = page.locator("section", has=page.get_by_role("heading", name=re.compile("^红色预警")))
    card = red.locator("li.card", has_text=home.address)
    expect(card).to_contain_text("社区介入")
    expect(card).to_contain_text("医保二次报销转介")
    countdown = card.locator("time[data-deadline]").first
    expect(countdown).to_have_text(re.compile(r"剩余约2[34]小时"))  # 24 hours to intervene
    expect(red).to_contain_text("月医疗支出超过家庭收入的50%")  # what red means, in words
    accessible(page)
    page_is_small(page, site, "/warnings")
    screenshot(page, "warnings-board")

    card.get_by_role("link", name=home.address).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("红色预警")
    accessible(page)
    page.get_by_label("“社区介入”办理情况").fill("已入户了解情况，协助整理报销材料")
    page.get_by_role("button", name=re.compile("^标记为已完成 ?：社区介入$")).click()
    expect(page.get_by_role("status")).to_contain_text("已完成：社区介入")
    intervention = page.locator("li.card", has=page.get_by_role("heading", name="社区介入"))
    expect(intervention).to_contain_text("已于")
    expect(intervention).to_contain_text("已入户了解情况")
    expect(intervention.get_by_role("button")).to_have_count(0)
    accessible(page)
    case = aid_admin(site.tree, aid).GetCase(pb.GetCaseRequest(case_id=reply.case.case_id))
    done = {a.action: a for a in case.actions}["community_intervention"]
    assert done.HasField("completed_at") and done.completed_by == "con-gw1"

    # Resolving needs an outcome: the field says so in Chinese, then it resolves.
    page.get_by_role("button", name="结案", exact=True).click()
    expect(page.locator("#f-outcome-error")).to_contain_text("必填")
    expect(page.locator(".error-summary")).to_be_focused()
    accessible(page)
    page.get_by_label("处理结果").fill("已办理医保二次报销")
    page.get_by_role("button", name="结案", exact=True).click()
    expect(page).to_have_url(re.compile(r"/warnings\?resolved="))
    expect(page.get_by_role("status")).to_contain_text("个案已结案")
    expect(page.locator("li.card", has_text=home.address)).to_have_count(0)
