"""The admin's journeys in a real headless Chromium against the real app over HTTP (a copy of
the reference city, the real Redis): log in as the seeded admin through the login form,
create an account on /admin, log out, log in as that person and land on their own wall;
and change a time limit on the screen, which the next report's deadline follows.
"""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import select

from models.catalogue import SlaRule
from models.db import make_session_factory
from models.enums import Priority, Stage
from models.incident import Incident
from models.org import AdminChange, Staff
from tests.browser.support import login, save_screenshot

TOWN = "441900004"
WAIT_MS = 10_000
NEW_PASSWORD = "journey-pass-1"


def choose(page, dropdown_id: str, text: str) -> None:
    """Pick the option of a dcc.Dropdown whose label contains `text`, as a person does:
    open it, type to search, click the option."""
    page.click(f"#{dropdown_id}")
    search = page.locator(".dash-dropdown-search, input[type='search']").first
    if search.count():
        search.fill(text)
    page.get_by_role("option", name=re.compile(re.escape(text))).first.click()
    page.keyboard.press("Escape")


def test_an_admin_creates_an_account_that_logs_in_to_its_home_page(live_server, page):
    login(page, live_server, "admin", next_path="/admin")
    page.wait_for_selector("#admin-root")
    page.fill("#admin-new-username", "zhao.lei")
    page.fill("#admin-new-name", "赵磊")
    choose(page, "admin-new-role", "值班员")
    choose(page, "admin-new-area", f"({TOWN})")
    page.fill("#admin-new-password", NEW_PASSWORD)
    page.click("#admin-new-create")
    message = page.wait_for_selector("#admin-user-message .admin-msg.msg-ok", timeout=WAIT_MS)
    assert "zhao.lei" in message.inner_text()
    page.wait_for_selector("#admin-users-table td:has-text('zhao.lei')", timeout=WAIT_MS)
    page.wait_for_selector(".admin-audit-table tr[data-entity='staff'][data-change='create']", timeout=WAIT_MS)
    save_screenshot(page, "journey-admin-users")
    with make_session_factory(live_server.engine)() as session:
        staff = session.scalar(select(Staff).where(Staff.username == "zhao.lei"))
        assert staff is not None and staff.role.value == "operator" and staff.name == "赵磊"

    page.click("#user-bar-logout")
    page.wait_for_url(lambda url: urlsplit(url).path == "/login")
    login(page, live_server, "zhao.lei", NEW_PASSWORD)  # to their home page: the town's wall
    page.wait_for_url(f"**/wall/town/{TOWN}")
    page.wait_for_selector("#wall-root")
    page.goto(live_server.url + "/admin")
    assert page.wait_for_selector(".auth-notice.auth-forbidden"), "an operator may not open /admin"


def test_an_admin_changes_a_time_limit_and_the_next_deadline_follows_it(live_server, page):
    sessions = make_session_factory(live_server.engine)
    with sessions() as session:
        rule_id = session.scalar(select(SlaRule.id).where(
            SlaRule.stage == Stage.ACCEPT, SlaRule.priority == Priority.NORMAL,
            SlaRule.category_id.is_(None), SlaRule.item_id.is_(None)))
    assert rule_id is not None, "the seeded rules have a default accept limit for normal priority"
    before = live_server.report()  # 14-01, normal priority: the 2-hour accept limit

    login(page, live_server, "admin", next_path="/admin")
    page.wait_for_selector("#admin-root")
    page.click("#admin-tabs >> text=时限规则")
    page.wait_for_selector("#admin-rules:not(.hidden)")
    page.locator("#admin-rules-table td[data-dash-column='id']",
                 has_text=re.compile(rf"^\s*{rule_id}\s*$")).click()
    page.wait_for_function(f"() => document.getElementById('admin-rule-title').innerText.includes('#{rule_id}')",
                           timeout=WAIT_MS)
    page.fill("#admin-rule-minutes", "50")
    page.click("#admin-rule-save")
    page.wait_for_selector("#admin-rule-message .admin-msg.msg-ok", timeout=WAIT_MS)
    save_screenshot(page, "journey-admin-rules")

    with sessions() as session:
        assert session.get(SlaRule, rule_id).minutes == 50
        change = session.scalar(select(AdminChange).order_by(AdminChange.id.desc()))
        assert (change.entity, change.entity_id, change.before["minutes"], change.after["minutes"]) == (
            "sla_rule", rule_id, 120, 50)
    after = live_server.report()
    with sessions() as session:
        old, new = session.get(Incident, before["id"]), session.get(Incident, after["id"])
        assert new.accept_due - new.reported_at == timedelta(minutes=50)
        assert old.accept_due - old.reported_at == timedelta(minutes=120), "a deadline already set stays"
