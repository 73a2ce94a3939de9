"""This month's verification in the browser: a grid worker sees a record due, records the check in
two taps (记录核查 on the row, 确认已核查 on the short page), and the record leaves the list."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import psycopg
from playwright.sync_api import Page, expect

from cdsp.registry.v1 import registry_pb2 as rpb
from tests.integration.console.conftest import Site, accessible, sign_in
from tests.integration.console.work_helpers import household, page_is_small, unique


def last_checked(db: psycopg.Connection, person_id: str, at: datetime) -> None:
    """Time passing for one record: its last check was at `at` (the service reads "now" from the
    clock, so the record moves instead)."""
    with db.transaction():
        db.execute("SELECT set_config('cdsp.scope', '/%', true)")
        db.execute("UPDATE persons SET last_verified_at = %s WHERE person_id = %s",
                   [at, person_id])


def test_a_grid_worker_records_a_due_check_in_two_taps(site: Site, page: Page,
                                                       registry_db: psycopg.Connection) -> None:
    name = unique("核查")
    person = site.tree.register(household(site, 0), name=name)
    # Checked 70 days ago: last month's check was missed as well, so it is overdue today.
    last_checked(registry_db, person.person_id, datetime.now(UTC) - timedelta(days=70))
    elsewhere = site.tree.register(household(site, 1), name=unique("核查"))
    last_checked(registry_db, elsewhere.person_id, datetime.now(UTC) - timedelta(days=70))

    sign_in(page, site, "con-gw1", "/verification")
    expect(page.get_by_role("heading", level=1)).to_have_text("本月核查")
    expect(page.locator("main")).to_contain_text("每月5日前")  # how the list is made
    row = page.locator("tbody tr", has_text=name)
    expect(row).to_contain_text("逾期")
    expect(page.locator("tbody tr", has_text=elsewhere.name)).to_have_count(0)  # other grid
    accessible(page)
    page_is_small(page, site, "/verification")

    row.get_by_role("link", name=re.compile(f"^记录核查 ?：{name}$")).click()  # tap 1
    expect(page.get_by_role("heading", level=1)).to_have_text("确认核查")
    expect(page.locator("dl.summary")).to_contain_text(name)
    accessible(page)
    page.get_by_role("button", name="确认已核查").click()  # tap 2

    expect(page).to_have_url(re.compile(r"/verification\?recorded="))
    banner = page.get_by_role("status")
    expect(banner).to_contain_text(f"已记录{name}的本月核查")
    expect(banner).to_be_focused()
    expect(page.locator("tbody tr", has_text=name)).to_have_count(0)
    accessible(page)
    history = site.tree.admin.GetPerson(rpb.GetPersonRequest(person_id=person.person_id))
    assert history.service_history[0].kind == "verification"
    assert history.last_verified_at.ToDatetime(tzinfo=UTC) > datetime.now(UTC) - timedelta(
        minutes=5)


def test_a_note_too_long_is_refused_beside_it_and_kept(site: Site, page: Page,
                                                       registry_db: psycopg.Connection) -> None:
    person = site.tree.register(household(site, 0), name=unique("核查"))
    last_checked(registry_db, person.person_id, datetime.now(UTC) - timedelta(days=70))
    sign_in(page, site, "con-gw1", f"/verification/{person.person_id}")
    note = "电话已更换" * 201  # 1005 characters: the registry takes at most 1000
    page.get_by_label("核查备注（选填）").fill(note)
    page.get_by_role("button", name="确认已核查").click()
    expect(page.locator("#f-note-error")).to_contain_text("不超过1000个字")
    expect(page.locator(".error-summary")).to_be_focused()
    expect(page.get_by_label("核查备注（选填）")).to_have_value(note)
    accessible(page)
