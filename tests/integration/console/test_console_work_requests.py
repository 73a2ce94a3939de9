"""The 30-minute service loop in the browser, end to end: submit, dispatch (keyboard alone),
arrival, resolution with feedback, with the SLA clock on the request's page; a form with bad
input shows each field's error in zh-CN and keeps what was typed."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

import devstack
from cdsp.aid.v1 import aid_pb2 as pb
from tests.aid_helpers import aid_admin
from tests.integration.console.conftest import Site, accessible, screenshot, sign_in
from tests.integration.console.work_helpers import household, page_is_small, projected_person


def tab_to(page: Page, selector: str, limit: int = 60) -> None:
    """Presses Tab until the element `selector` has the focus (the keyboard alone)."""
    for _ in range(limit):
        if page.evaluate(f"document.activeElement === document.querySelector({selector!r})"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} never got the focus by Tab")


def test_the_loop_submit_dispatch_arrive_resolve(site: Site, page: Page,
                                                 stack: devstack.Stack) -> None:
    person = projected_person(site, stack, household(site, 0))
    sign_in(page, site, "con-gw1", "/requests")
    expect(page.get_by_role("heading", level=1)).to_have_text("30分钟服务响应")
    expect(page.locator("main")).to_contain_text("30分钟内到场")  # the compliance figures
    accessible(page)
    page_is_small(page, site, "/requests")

    page.get_by_role("link", name="提交紧急求助").click()
    accessible(page)
    page.get_by_label("求助对象").select_option(person.person_id)
    page.get_by_label("求助内容").fill("轮椅坏了，无法出门就医")
    page.get_by_label("居民线上点单").check()
    page.get_by_role("button", name="提交并开始计时").click()

    expect(page).to_have_url(re.compile(r"/requests/[0-9a-f-]{36}\?done=submit$"))
    request_path = page.url.removeprefix(site.url).split("?")[0]
    expect(page.get_by_role("status")).to_contain_text("30分钟到场计时开始")
    expect(page.get_by_role("heading", level=1)).to_contain_text(person.name)
    clock = page.locator("section.sla-clock")
    expect(clock).to_contain_text("到场截止")
    expect(clock.locator("time[data-deadline]")).to_have_text(re.compile(r"剩余(29|30)分钟"))
    expect(clock).to_contain_text("已过0分钟")
    accessible(page)
    page_is_small(page, site, request_path)
    screenshot(page, "request-loop")

    # Dispatch with the keyboard alone: Tab to the team field, type, Enter.
    tab_to(page, "#f-team")
    page.keyboard.type("第一网格服务队")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("已派单")
    expect(page.locator("main")).to_contain_text("已派单，赶赴现场")
    expect(page.locator("main")).to_contain_text("第一网格服务队")
    accessible(page)

    page.get_by_role("button", name="记录到场（现在）").click()
    expect(page.get_by_role("status")).to_contain_text("已记录到场")
    expect(clock).to_contain_text("按时")
    expect(clock.locator("time[data-deadline]")).to_have_count(0)
    accessible(page)

    page.get_by_label("结果反馈").fill("已更换轮椅内胎，陪同就医")
    page.get_by_role("button", name="办结并反馈结果").click()
    expect(page.get_by_role("status")).to_contain_text("已办结，结果已反馈")
    expect(page.locator("main")).to_contain_text("已更换轮椅内胎，陪同就医")
    expect(page.get_by_role("button")).to_have_count(1)  # only signing out is left
    accessible(page)

    page.goto(site.url + "/requests")
    expect(page.locator("tbody tr", has_text=person.name)).to_have_count(0)  # open ones only
    page.get_by_role("link", name="显示全部（含已办结）").click()
    expect(page.locator("tbody tr", has_text=person.name)).to_contain_text("已办结")
    accessible(page)


def test_bad_input_is_explained_in_chinese_and_kept(site: Site, page: Page,
                                                    stack: devstack.Stack) -> None:
    person = projected_person(site, stack, household(site, 0))
    sign_in(page, site, "con-gw1", "/requests/new")
    page.get_by_label("求助对象").select_option(person.person_id)
    page.get_by_label("居民线上点单").check()
    page.get_by_role("button", name="提交并开始计时").click()  # no description
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link", name="求助内容：请填写求助内容")).to_be_visible()
    expect(page.locator("#f-description-error")).to_contain_text("请填写求助内容")
    expect(page.get_by_label("求助对象")).to_have_value(person.person_id)
    expect(page.get_by_label("居民线上点单")).to_be_checked()
    accessible(page)

    # A rule only the service knows (a team name of at most 100 characters), in Chinese.
    page.get_by_label("求助内容").fill("家中停水")
    page.get_by_role("button", name="提交并开始计时").click()
    expect(page.get_by_role("status")).to_contain_text("30分钟到场计时开始")
    team = "第一网格服务队" * 15  # 105 characters
    page.get_by_label("派出团队").fill(team)
    page.get_by_role("button", name="派单").click()
    expect(page.locator("#f-team-error")).to_contain_text("必填，不超过100个字")
    expect(page.get_by_label("派出团队")).to_have_value(team)
    expect(page.locator("main")).to_contain_text("已提交，待派单")
    accessible(page)


def test_escalation_to_the_meeting_with_its_24_hour_clock(site: Site, page: Page, aid: str,
                                                          stack: devstack.Stack) -> None:
    person = projected_person(site, stack, household(site, 0))
    api = aid_admin(site.tree, aid)
    made = api.SubmitRequest(pb.SubmitRequestRequest(person_id=person.person_id,
                                                     description="家中断粮"))
    api.DispatchRequest(pb.DispatchRequestRequest(request_id=made.request_id, team="一队"))
    api.RecordArrival(pb.RecordArrivalRequest(request_id=made.request_id))
    sign_in(page, site, "con-gw1", f"/requests/{made.request_id}")
    page.get_by_label("提交会议的原因").fill("需申请慈善救助，现场无法解决")
    page.get_by_role("button", name="提交协会会议（24小时内）").click()
    expect(page.get_by_role("status")).to_contain_text("已提交协会会议")
    clock = page.locator("section.sla-clock")
    expect(clock).to_contain_text("会议截止")
    expect(clock.locator("time[data-deadline]")).to_have_text(re.compile(r"剩余约2[34]小时"))
    expect(page.get_by_role("button", name="提交协会会议（24小时内）")).to_have_count(0)
    accessible(page)
    page.get_by_label("结果反馈").fill("会议决定启动慈善救助")
    page.get_by_role("button", name="办结并反馈结果").click()
    expect(clock).to_contain_text("已上会办结")
    accessible(page)
