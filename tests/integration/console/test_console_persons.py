"""The persons pages in a real browser: the list with filters, search and pages, a person's
file, registering (field errors beside their fields, nothing lost; keyboard only), editing with
the version check, archiving, households, another grid's person out of reach, and a service that
is down."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from playwright.sync_api import Page, Response, expect

import devstack
from cdsp.common.v1 import common_pb2 as common
from cdsp.registry.v1 import registry_pb2 as pb
from cdsp.volunteer.v1 import volunteer_pb2 as vpb
from tests.aid_helpers import aid_admin, open_case, wait_projected
from tests.helpers import resident_id, years_ago
from tests.integration.console.conftest import Site, accessible, screenshot, sign_in
from tests.notification_helpers import wait_until
from tests.volunteer_helpers import new_volunteer, volunteer_admin

MAX_PAGE_BYTES = 200_000


def _tag() -> str:
    """A few letters that make a test's names its own (the session's tree is shared)."""
    return secrets.token_hex(2).upper()


def checked(page: Page, response: Response | None = None) -> None:
    """The page as it is now: no WCAG A/AA violation, and under 200 KB."""
    body = response.body() if response is not None else page.content().encode()
    assert len(body) < MAX_PAGE_BYTES, f"{page.url}: {len(body)} bytes"
    accessible(page)


def visit(page: Page, site: Site, path: str, status: int = 200) -> Response:
    response = page.goto(site.url + path)
    assert response is not None and response.status == status, (path, response and
                                                                  response.status)
    checked(page, response)
    return response


def submit(page: Page, button: str) -> Response:
    """Clicks a form's button and returns the answer to the post (before any redirect)."""
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_load_state()
    return answer.value


def _wrong_check_digit(number: str) -> str:
    return number[:17] + next(c for c in "0123456789X" if c != number[17])


def _fill_registration(page: Page, name: str, number: str, household_id: str) -> None:
    page.get_by_label("姓名", exact=True).fill(name)
    page.get_by_label("身份证号", exact=True).fill(number)
    page.get_by_label("残疾类别").select_option(label="视力残疾")
    page.get_by_label("残疾等级").select_option(label="二级")
    page.get_by_label("户编号").fill(household_id)
    page.get_by_label("本人电话（选填）").fill("13912345678")
    page.get_by_label("首选联系方式").select_option(label="短信")
    page.get_by_label("监护人姓名").fill("李桂兰")
    page.get_by_label("监护人电话").fill("13700001111")
    page.get_by_label("与本人关系").fill("母亲")
    page.get_by_label("与家人同住").check()
    page.get_by_label("重病患者").check()
    page.get_by_label("需求1", exact=True).select_option(label="康复")
    page.get_by_label("需求1说明（选填）").fill("每周两次康复训练")


def test_a_grid_worker_filters_searches_and_opens_a_file(site: Site, page: Page,
                                                         volunteer: str, aid: str,
                                                         stack: devstack.Stack) -> None:
    tree, tag = site.tree, _tag()
    home = tree.household(0, income_fen=321_050)
    seen = tree.register(home, name=f"陈明{tag}", category=common.DISABILITY_CATEGORY_VISUAL,
                         grade=1, living_situation=pb.LIVING_SITUATION_ALONE,
                         guardian=pb.Guardian(name="陈大华", phone="13800002222", relation="子女"),
                         liaison=pb.Liaison(worker_id="con-gw1", name="周联系",
                                            phone="13600003333"),
                         priority_groups=["seriously_ill"],
                         needs=[pb.Need(code="rehabilitation", description="上门康复")])
    other = tree.register(home, name=f"陈亮{tag}")
    elsewhere = tree.register(tree.household(1), name=f"陈远{tag}")
    # The volunteer service's part of the file: a red colour and a volunteer paired.
    api = volunteer_admin(tree, volunteer)
    wait_until(lambda: _has_schedule(api, seen.person_id), "the person known to volunteer", 30)
    api.SetRiskColour(vpb.SetRiskColourRequest(person_id=seen.person_id, colour=3,
                                               reason="独居且近期住院"))
    helper = api.RegisterVolunteer(new_volunteer(tree, name=f"林志愿{tag}"))
    api.VerifyVolunteer(vpb.VerifyVolunteerRequest(volunteer_id=helper.volunteer_id))
    api.Pair(vpb.PairRequest(person_id=seen.person_id, volunteer_id=helper.volunteer_id,
                             role=2))
    # The aid service's: the household's open case (an accident: orange).
    wait_projected(stack.database_url("aid"), [seen.person_id, other.person_id])
    case = open_case(aid_admin(tree, aid), home.household_id)

    sign_in(page, site, "con-gw1", "/persons")
    expect(page.get_by_role("heading", level=1)).to_have_text("残疾人档案")
    checked(page)
    page.get_by_text("按类别、等级、重点人群等筛选").click()
    page.get_by_label("残疾类别").select_option(label="视力残疾")
    page.get_by_label("独居").select_option(label="是")
    page.get_by_role("button", name="筛选", exact=True).click()
    table = page.locator("table")
    expect(table).to_contain_text(f"陈明{tag}")
    expect(table).not_to_contain_text(f"陈亮{tag}")
    expect(page.get_by_label("残疾类别")).to_have_value("1")  # the filters stay chosen
    checked(page)
    screenshot(page, "persons-list")

    page.get_by_role("link", name="清除筛选").click()
    page.get_by_label("按姓名查找").fill(tag)
    page.get_by_role("button", name="筛选", exact=True).click()
    expect(table).to_contain_text(f"陈明{tag}")
    expect(table).to_contain_text(f"陈亮{tag}")
    expect(table).not_to_contain_text(f"陈远{tag}")  # grid 1: not this worker's
    # Resident IDs are shown masked in the list.
    expect(table).to_contain_text(seen.resident_id[:6] + "*" * 12)
    expect(table).not_to_contain_text(seen.resident_id)
    checked(page)
    # A resident ID is looked up by a post, never in the address; another grid's is not found.
    page.get_by_label("按身份证号查找").fill(elsewhere.resident_id)
    assert submit(page, "打开档案").status == 404
    expect(page.locator("#f-resident_id-error")).to_contain_text("没有此身份证号的档案")
    assert elsewhere.resident_id not in page.url
    checked(page)
    page.get_by_label("按身份证号查找").fill(seen.resident_id.lower())
    assert submit(page, "打开档案").status == 303
    assert page.url == f"{site.url}/persons/{seen.person_id}"
    page.goto(f"{site.url}/persons?query=陈明{tag}")
    page.get_by_role("link", name=f"陈明{tag}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"陈明{tag}的档案")
    record = page.locator("section", has=page.locator("#s-record"))
    for words in (f"陈明{tag}", seen.resident_id, "男", "视力残疾", "一级", "持有残疾证",
                  seen.certificate_number, home.address, "¥3,210.50", "13912345678", "短信",
                  "陈大华", "子女", "周联系", "独居", "重病患者", "康复：上门康复"):
        expect(record).to_contain_text(words)
    born = seen.birth_date
    expect(record).to_contain_text(f"{born.year:04d}-{born.month:02d}-{born.day:02d}")
    care = page.locator("section", has=page.locator("#s-care"))
    expect(care).to_contain_text("红色")
    expect(care).to_contain_text("独居且近期住院")
    expect(care).to_contain_text(f"林志愿{tag}")
    cases = page.locator("section", has=page.locator("#s-cases"))
    expect(cases).to_contain_text("橙色预警")
    expect(cases.get_by_role("link", name="立案的个案", exact=False)).to_have_attribute(
        "href", f"/warnings/{case.case_id}")
    expect(page.locator("section", has=page.locator("#s-history"))).to_contain_text(
        "服务记录")
    checked(page)
    screenshot(page, "person-file")
    page.get_by_role("link", name="查看户档案").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("户档案")
    expect(page.locator("main")).to_contain_text("¥3,210.50")
    expect(page.get_by_role("link", name=f"陈亮{tag}")).to_be_visible()
    checked(page)


def _has_schedule(api: Any, person_id: str) -> bool:
    try:
        api.GetCareSchedule(vpb.GetCareScheduleRequest(person_id=person_id))
    except grpc.RpcError:
        return False
    return True


def test_fifty_to_a_page_with_a_link_to_the_next(site: Site, page: Page) -> None:
    tree, tag = site.tree, _tag()
    home = tree.household(0)
    for i in range(51):
        tree.register(home, name=f"分页{tag}{i:02d}", needs=[pb.Need(code="education")])
    sign_in(page, site, "con-gw1", "/persons?need_code=education")
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(50)
    checked(page)
    page.get_by_role("link", name="下一页").click()
    expect(rows).to_have_count(1)
    expect(page.get_by_label("需求", exact=True)).to_have_value("education")
    expect(page.get_by_role("link", name="下一页")).to_have_count(0)
    checked(page)
    page.get_by_role("link", name="第一页").click()
    expect(rows).to_have_count(50)


def test_a_bad_resident_id_is_explained_beside_its_field_and_nothing_is_lost(
        site: Site, page: Page) -> None:
    tree, tag = site.tree, _tag()
    home = tree.household(0)
    number = resident_id(years_ago(30))
    sign_in(page, site, "con-gw1", "/persons/new")
    expect(page.get_by_role("heading", level=1)).to_have_text("登记残疾人")
    checked(page)
    _fill_registration(page, f"赵敏{tag}", _wrong_check_digit(number), home.household_id)
    answer = submit(page, "登记")
    assert answer.status == 400
    beside = page.locator("#f-resident_id-error")
    expect(beside).to_contain_text("校验位不正确")
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    link = summary.get_by_role("link", name="身份证号：校验位不正确", exact=False)
    expect(link).to_have_attribute("href", "#f-resident_id")
    expect(page.get_by_label("身份证号", exact=True)).to_have_attribute("aria-invalid", "true")
    for label, value in (("姓名", f"赵敏{tag}"), ("户编号", home.household_id),
                         ("本人电话（选填）", "13912345678"), ("监护人姓名", "李桂兰"),
                         ("监护人电话", "13700001111"), ("与本人关系", "母亲"),
                         ("需求1说明（选填）", "每周两次康复训练")):
        expect(page.get_by_label(label, exact=True)).to_have_value(value)
    expect(page.get_by_label("残疾类别")).to_have_value("1")
    expect(page.get_by_label("残疾等级")).to_have_value("2")
    expect(page.get_by_label("首选联系方式")).to_have_value("2")
    expect(page.get_by_label("与家人同住")).to_be_checked()
    expect(page.get_by_label("重病患者")).to_be_checked()
    expect(page.get_by_label("需求1", exact=True)).to_have_value("rehabilitation")
    checked(page)
    page.get_by_label("身份证号", exact=True).fill(number)
    answer = submit(page, "登记")
    assert answer.status == 303
    expect(page.locator(".success")).to_contain_text("已登记")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"赵敏{tag}的档案")
    expect(page.locator("main")).to_contain_text("每周两次康复训练")
    checked(page)


def _focused(page: Page) -> dict[str, str]:
    found: dict[str, str] = page.evaluate(
        "() => { const e = document.activeElement;"
        " return {id: e.id || '', type: e.type || '', text: (e.textContent || '').trim()}; }")
    return found


def _tab_to(page: Page, wanted: Callable[[dict[str, str]], bool]) -> None:
    for _ in range(200):
        if wanted(_focused(page)):
            return
        page.keyboard.press("Tab")
    raise AssertionError("the keyboard never reached the control")


def _tab_to_id(page: Page, element_id: str) -> None:
    _tab_to(page, lambda e: e["id"] == element_id)


def test_registration_with_the_keyboard_alone(site: Site, page: Page) -> None:
    tree, tag = site.tree, _tag()
    home = tree.household(0)
    number = resident_id(years_ago(52), male=False)
    sign_in(page, site, "con-gw1", f"/persons/new?household_id={home.household_id}")
    checked(page)
    _tab_to_id(page, "f-name")
    page.keyboard.type(f"键盘{tag}")
    _tab_to_id(page, "f-resident_id")
    page.keyboard.type(number)
    _tab_to_id(page, "f-category")
    page.keyboard.press("ArrowDown")          # 视力残疾
    _tab_to_id(page, "f-grade")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")          # 二级
    _tab_to_id(page, "f-phone")
    page.keyboard.type("13912345678")
    _tab_to_id(page, "f-preferred_channel")
    page.keyboard.press("ArrowDown")          # 电话
    _tab_to_id(page, "f-living_situation-1")
    page.keyboard.press("ArrowDown")          # 与家人同住
    _tab_to_id(page, "f-priority_groups-5")
    page.keyboard.press("Space")              # 重病患者
    _tab_to(page, lambda e: e["type"] == "submit" and e["text"] == "登记")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator(".success")).to_contain_text("已登记")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"键盘{tag}的档案")
    record = page.locator("section", has=page.locator("#s-record"))
    for words in ("女", "视力残疾", "二级", "电话", "与家人同住", "重病患者"):
        expect(record).to_contain_text(words)
    checked(page)


def test_another_grids_person_is_out_of_reach_by_url(site: Site, page: Page) -> None:
    tree, tag = site.tree, _tag()
    theirs = tree.register(tree.household(0), name=f"孙丽{tag}", phone="13955556666")
    sign_in(page, site, "con-gw2", "/")
    for path in (f"/persons/{theirs.person_id}", f"/persons/{theirs.person_id}/edit",
                 f"/persons/{theirs.person_id}/archive",
                 f"/households/{theirs.household_id}"):
        response = page.goto(site.url + path)
        assert response is not None and response.status in (403, 404), path
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        expect(page.locator("main")).to_contain_text("您无权查看或办理此事项")
        html = page.content()
        for secret in (f"孙丽{tag}", theirs.resident_id, theirs.resident_id[:10],
                       "13955556666", theirs.certificate_number):
            assert secret not in html, (path, "personal data in the error page")
        checked(page, response)
    page.goto(f"{site.url}/persons?query=孙丽{tag}")
    expect(page.locator("table")).to_contain_text("没有符合条件的人员")
    # A resident ID typed into the name box is neither searched nor shown again.
    response = page.goto(f"{site.url}/persons?query={theirs.resident_id}")
    assert response is not None and response.status == 400
    expect(page.locator("#f-query-error")).to_contain_text("身份证号请在“按身份证号查找”中输入")
    assert theirs.resident_id not in page.locator("main").inner_html()


def test_an_edit_after_someone_elses_change_is_a_conflict_that_keeps_the_values(
        site: Site, page: Page) -> None:
    tree, tag = site.tree, _tag()
    person = tree.register(tree.household(0), name=f"吴刚{tag}", phone="13911112222")
    sign_in(page, site, "con-gw1", f"/persons/{person.person_id}/edit")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"修改吴刚{tag}的档案")
    checked(page)
    page.get_by_label("姓名", exact=True).fill(f"吴刚强{tag}")
    page.get_by_label("独居", exact=True).check()
    # Meanwhile someone else changes the phone.
    tree.admin.UpdatePerson(pb.UpdatePersonRequest(
        person=pb.Person(person_id=person.person_id, phone="13833334444"),
        update_mask=FieldMask(paths=["phone"]), expected_version=person.version))
    answer = submit(page, "保存修改")
    assert answer.status == 409
    expect(page.locator(".error-summary")).to_contain_text("该记录已被他人修改")
    expect(page.get_by_label("姓名", exact=True)).to_have_value(f"吴刚强{tag}")
    expect(page.get_by_label("独居", exact=True)).to_be_checked()
    expect(page.get_by_label("本人电话（选填）")).to_have_value("13833334444")
    expect(page.locator(".notice")).to_contain_text("本人电话")
    checked(page)
    assert tree.admin.GetPerson(pb.GetPersonRequest(person_id=person.person_id)).name == \
        f"吴刚{tag}"
    answer = submit(page, "保存修改")
    assert answer.status == 303
    expect(page.locator(".success")).to_contain_text("修改已保存")
    saved = tree.admin.GetPerson(pb.GetPersonRequest(person_id=person.person_id))
    assert (saved.name, saved.phone, saved.living_situation, saved.version) == (
        f"吴刚强{tag}", "13833334444", pb.LIVING_SITUATION_ALONE, person.version + 2)
    checked(page)


def test_archive_with_a_reason(site: Site, page: Page) -> None:
    tree, tag = site.tree, _tag()
    person = tree.register(tree.household(0), name=f"郑强{tag}")
    sign_in(page, site, "con-gw1", f"/persons/{person.person_id}")
    page.get_by_role("link", name="归档", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"归档郑强{tag}的档案")
    checked(page)
    answer = submit(page, "归档")
    assert answer.status == 400
    expect(page.locator("#f-reason-error")).to_contain_text("请选择归档原因")
    checked(page)
    page.get_by_label("迁出").check()
    answer = submit(page, "归档")
    assert answer.status == 303
    expect(page.locator(".success")).to_contain_text("已归档")
    expect(page.locator("main")).to_contain_text("此档案已归档（迁出）")
    expect(page.get_by_role("link", name="修改档案")).to_have_count(0)
    checked(page)
    archived = tree.admin.GetPerson(pb.GetPersonRequest(person_id=person.person_id))
    assert (archived.status, archived.archive_reason) == (pb.PERSON_STATUS_ARCHIVED, 1)


def test_a_household_is_created_in_yuan_then_a_person_registered_in_it(site: Site,
                                                                      page: Page) -> None:
    tag = _tag()
    sign_in(page, site, "con-gw1", "/persons/new")
    page.get_by_role("link", name="尚未建档的，请先新建户档案。").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("新建户档案")
    checked(page)
    page.get_by_label("地址").fill(f"幸福路{tag}号")
    page.get_by_label("家庭月收入（元）").fill("两千")
    assert submit(page, "新建").status == 400
    expect(page.locator("#f-monthly_income_fen-error")).to_contain_text("请填写金额（元）")
    expect(page.get_by_label("地址")).to_have_value(f"幸福路{tag}号")
    checked(page)
    page.get_by_label("家庭月收入（元）").fill("2,500.5")
    assert submit(page, "新建").status == 303
    expect(page.locator(".success")).to_contain_text("户档案已新建")
    household_id = page.get_by_label("户编号").input_value()
    household = site.tree.admin.GetHousehold(pb.GetHouseholdRequest(household_id=household_id))
    assert (household.monthly_income_fen, household.grid_code) == (250_050, site.tree.grids[0])
    checked(page)
    visit(page, site, f"/households/{household_id}")
    expect(page.locator("main")).to_contain_text("¥2,500.50")
    expect(page.locator("main")).to_contain_text("此户尚无已登记的残疾人")


# ---------------------------------------------------------------- services down

@pytest.fixture(scope="module")
def broken(site: Site, stack: devstack.Stack) -> Iterator[Callable[[str], Site]]:
    """Consoles of this module's own on the session's stack, each with some services' addresses
    pointing at a port nobody listens on (the shared services keep running)."""
    made: list[devstack.Stack] = []
    slot = stack.pg_port - 26000
    closed = f"127.0.0.1:{20058 + 10 * slot}"  # in the session's gRPC block, never served

    def start(which: str) -> Site:
        services = {"registry": ["registry"], "others": ["volunteer", "aid"]}[which]
        n = len(made)
        own = devstack.Stack(state_dir=stack.state_dir / f"console-persons-{which}",
                             pg_port=stack.pg_port, kafka_port=stack.kafka_port,
                             port_offset=stack.port_offset,
                             metrics_offset=(stack.metrics_offset or 0) + (9, 7)[n],
                             identity_dir=stack.identity.folder,
                             console_port=21100 + 100 * n + slot)
        own.state_dir.mkdir(parents=True, exist_ok=True)
        devstack.start_console(own, f"{site.stack.issuer_url}/token", extra_env={
            f"CDSP_{name.upper()}_ADDR": closed for name in services})
        made.append(own)
        return Site(own.console_url(), site.tree, own)

    yield start
    for own in made:
        devstack.stop_service(own, "console")


def test_the_registry_down_keeps_the_registration_form(broken: Callable[[str], Site],
                                                       page: Page) -> None:
    down = broken("registry")
    tag = _tag()
    sign_in(page, down, "con-gw1", "/persons/new")
    number = resident_id(years_ago(33))
    _fill_registration(page, f"钱进{tag}", number, "0c6f1f7e-5b7a-4c55-9a0e-2f1d2b3c4d5e")
    answer = submit(page, "登记")
    assert answer.status == 503
    expect(page.locator(".error-summary")).to_contain_text("“档案”服务暂时无法使用。您填写的内容已保留")
    expect(page.get_by_label("姓名", exact=True)).to_have_value(f"钱进{tag}")
    expect(page.get_by_label("身份证号", exact=True)).to_have_value(number)
    expect(page.get_by_label("残疾类别")).to_have_value("1")
    expect(page.get_by_label("需求1说明（选填）")).to_have_value("每周两次康复训练")
    checked(page)
    response = page.goto(down.url + "/persons")
    assert response is not None and response.status == 503
    expect(page.locator(".error-summary")).to_contain_text("“档案”服务暂时无法使用")
    checked(page, response)


def test_a_file_shows_what_it_has_when_other_services_are_down(
        site: Site, broken: Callable[[str], Site], page: Page) -> None:
    down = broken("others")
    tag = _tag()
    person = site.tree.register(site.tree.household(0), name=f"冯静{tag}")
    sign_in(page, down, "con-gw1", f"/persons/{person.person_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"冯静{tag}的档案")
    expect(page.locator("#s-record").locator("..")).to_contain_text(person.resident_id)
    expect(page.locator("section", has=page.locator("#s-care"))).to_contain_text(
        "“志愿服务”服务暂时无法使用，请稍后刷新本页。")
    expect(page.locator("section", has=page.locator("#s-cases"))).to_contain_text(
        "“救助”服务暂时无法使用，请稍后刷新本页。")
    checked(page)
