"""Statistics in a real browser: a community worker's figures are the registry's and the aid
service's own, a city admin goes down to a jurisdiction below theirs, a grid worker cannot look
above their grid, and an English page speaks English."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

import devstack
from cdsp.aid.v1 import aid_pb2 as apb
from cdsp.common.v1 import common_pb2 as common
from cdsp.registry.v1 import registry_pb2 as rpb
from tests.aid_helpers import aid_admin, aid_stub, wait_projected
from tests.helpers import Tree, baby, stub, token
from tests.integration.console.conftest import Site, accessible, screenshot, sign_in

MAX_PAGE_BYTES = 200 * 1024
LEVELS = {3: "red", 2: "orange", 1: "yellow"}


def cell(page: Page, table: str, key: str, column: int = 0) -> Locator:
    """The `column`-th number of the row `key` of a table."""
    return page.locator(f"#{table} tr[data-key='{key}'] td.num").nth(column)


def registry_figures(site: Site, role: str, scope: str, path: str) -> rpb.Statistics:
    caller = stub(site.tree.addr, token(role, [scope], subject="stats-check"))
    return caller.GetStatistics(rpb.GetStatisticsRequest(jurisdiction_path=path))


def expect_registry_figures(page: Page, figures: rpb.Statistics) -> None:
    expect(cell(page, "overview", "persons")).to_have_text(str(figures.persons))
    expect(cell(page, "overview", "certified")).to_have_text(str(figures.certified))
    expect(cell(page, "overview", "living_alone")).to_have_text(str(figures.living_alone))
    for table, counts in (("by-category", figures.by_category), ("by-grade", figures.by_grade),
                          ("by-group", figures.by_priority_group)):
        for count in counts:
            expect(cell(page, table, count.key)).to_have_text(str(count.count))
    # every row has its share in words beside the bar, which screen readers skip
    bars = page.locator("#by-category td.bar-cell .bar")
    expect(bars.first).to_have_attribute("aria-hidden", "true")


def populate(tree: Tree, aid: str, aid_db_url: str) -> None:
    """Persons of several categories and grades, a child, and an orange warning."""
    first, second = tree.household(0, income_fen=300_000), tree.household(1)
    ids = [tree.register(first, category=common.DISABILITY_CATEGORY_VISUAL, grade=1).person_id,
           tree.register(second, living_situation=rpb.LIVING_SITUATION_ALONE).person_id,
           baby(tree, second).person_id]
    wait_projected(aid_db_url, ids)
    orange = aid_admin(tree, aid).ReportHardship(apb.ReportHardshipRequest(
        household_id=first.household_id, kind=apb.HARDSHIP_KIND_ACCIDENT))
    assert orange.case.case_id


def test_a_community_worker_sees_the_services_figures_of_their_community(
        site: Site, page: Page, aid: str, stack: devstack.Stack) -> None:
    tree = site.tree
    populate(tree, aid, stack.database_url("aid"))
    figures = registry_figures(site, "community_worker", tree.community_path,
                               tree.community_path)
    assert figures.persons >= 3
    worker = aid_stub(aid, token("community_worker", [tree.community_path]))
    cases = worker.ListCases(apb.ListCasesRequest(page_size=500)).cases
    sla = worker.GetSlaCompliance(apb.GetSlaComplianceRequest())

    sign_in(page, site, "con-cw", "/stats")
    expect(page.get_by_role("heading", level=1)).to_have_text("统计")
    expect(page.locator("#stats-place")).to_contain_text("社区：测试4")
    choices = page.get_by_label("辖区", exact=True)
    expect(choices).to_have_value(tree.community)
    expect(choices.locator("option")).to_have_text(["社区：测试4", "网格：网格", "网格：网格"])
    expect_registry_figures(page, figures)
    expect(page.locator("#by-category tr[data-key='visual'] th")).to_have_text("视力残疾")
    expect(page.locator("#by-grade tr[data-key='0'] th")).to_have_text("未定级")
    expect(page.locator("#by-group tr[data-key='disabled_children'] th")).to_have_text(
        "残疾儿童")
    for level, name in LEVELS.items():
        expect(cell(page, "warnings", name)).to_have_text(
            str(sum(1 for c in cases if c.level == level)))
    expect(page.locator("#warnings tr[data-key='orange'] th")).to_have_text("橙色预警")
    expect(cell(page, "sla", "arrival")).to_have_text(str(sla.arrived_on_time))
    expect(cell(page, "sla", "arrival", 1)).to_have_text(str(sla.requests_due))
    expect(cell(page, "sla", "online", 1)).to_have_text(str(sla.submitted_total))
    accessible(page)
    screenshot(page, "stats")
    assert len(page.content().encode()) < MAX_PAGE_BYTES


def test_a_city_admin_picks_a_jurisdiction_below(site: Site, page: Page) -> None:
    tree = site.tree
    district = f"{tree.city}-d"
    sign_in(page, site, "con-admin", "/stats")
    choices = page.get_by_label("辖区", exact=True)
    expect(choices).to_have_value(tree.city)
    expect(choices.locator("option")).to_have_text(["市：测试1", "区：测试2"])
    accessible(page)
    choices.select_option(district)
    page.get_by_role("button", name="查看").click()
    expect(page).to_have_url(f"{site.url}/stats?j={district}")
    expect(page.locator("#stats-place")).to_contain_text("区：测试2")
    expect(choices).to_have_value(district)
    expect_registry_figures(page, registry_figures(site, "city_admin", tree.city_path,
                                                   f"/{tree.city}/{district}/"))
    accessible(page)

    page.get_by_role("navigation", name="下级辖区").get_by_role("link", name="测试3").click()
    expect(page.locator("#stats-place")).to_contain_text("街道：测试3")
    accessible(page)
    page.goto(f"{site.url}/stats?j={tree.grids[1]}")  # straight to a grid: the way back up
    expect(choices.locator("option")).to_have_text(
        ["市：测试1", "区：测试2", "街道：测试3", "社区：测试4", "网格：网格"])
    expect(choices).to_have_value(tree.grids[1])
    expect_registry_figures(page, registry_figures(site, "city_admin", tree.city_path,
                                                   tree.grid_paths[1]))
    accessible(page)
    assert len(page.content().encode()) < MAX_PAGE_BYTES


def test_a_grid_worker_cannot_look_above_their_grid(site: Site, page: Page) -> None:
    sign_in(page, site, "con-gw1", f"/stats?j={site.tree.community}")
    expect(page.locator("main")).to_contain_text("您无权查看")
    accessible(page)


def test_an_english_page_shows_english_words(site: Site, page: Page) -> None:
    sign_in(page, site, "con-cw")
    page.context.add_cookies([{"name": "cdsp_lang", "value": "en", "url": site.url}])
    page.goto(site.url + "/stats")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Statistics")
    expect(page.locator("#by-category caption")).to_have_text("By category of disability")
    expect(page.locator("#by-category tr[data-key='physical'] th")).to_have_text("Physical")
    expect(page.locator("#warnings tr[data-key='red'] th")).to_have_text("Red warning")
    expect(page.get_by_label("Jurisdiction", exact=True).locator("option").first).to_have_text(
        "Community: 测试4")
    accessible(page)
