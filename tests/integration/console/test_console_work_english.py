"""Every daily work page in English too: the words come from the catalogue (no key, no zh-CN
left over where English exists), each page passes axe-core and stays under 200 KB."""

from __future__ import annotations

from playwright.sync_api import BrowserContext, Page, expect

import devstack
from cdsp.aid.v1 import aid_pb2 as pb
from tests.aid_helpers import aid_admin, open_case
from tests.integration.console.conftest import Site, accessible, sign_in
from tests.integration.console.work_helpers import household, page_is_small, projected_person


def test_the_work_pages_in_english(site: Site, page: Page, context: BrowserContext, aid: str,
                                   stack: devstack.Stack) -> None:
    home = household(site, 0)
    person = projected_person(site, stack, home)
    api = aid_admin(site.tree, aid)
    case = open_case(api, home.household_id)
    request = api.SubmitRequest(pb.SubmitRequestRequest(person_id=person.person_id,
                                                        description="停电"))
    sign_in(page, site, "con-cw", "/")
    context.add_cookies([{"name": "cdsp_lang", "value": "en", "url": site.url}])
    for path, heading in [
            ("/verification", "This month's verification"),
            (f"/verification/{person.person_id}", "Confirm the check"),
            ("/warnings", "Warnings and cases"),
            (f"/warnings/{case.case_id}", "Aid case"),
            ("/requests", "30-minute service"),
            ("/requests/new", "Submit an urgent request"),
            (f"/requests/{request.request_id}", "Urgent request"),
            ("/relief", "Temporary relief"),
            (f"/relief/{case.case_id}", "Grant relief"),
            ("/kits", "Emergency kits")]:
        page.goto(site.url + path)
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        accessible(page)
        page_is_small(page, site, path)
