"""The log-in page in a real browser: each kind of user lands on the page of their role, a
wrong password is said clearly, both languages work, and the page passes axe-core."""

from __future__ import annotations

import re
from typing import Any

import pytest

from waterops.model.accounts import Role
from web.conftest import WebServer, check_accessibility, expect_focus, log_in


def test_the_log_in_page_is_accessible_in_both_languages(page: Any, web_server: WebServer) -> None:
    for lang, heading in (("en", "Log in"), ("zh-CN", "登录")):
        page.goto(f"{web_server.base_url}/?lang={lang}")
        assert page.get_by_role("heading", name=heading).is_visible()
        assert page.evaluate("document.documentElement.lang") == lang
        check_accessibility(page)


def test_a_wrong_password_is_refused_with_a_message(page: Any, web_server: WebServer) -> None:
    username, _ = web_server.user(Role.DISPATCHER)
    log_in(page, web_server.base_url, username, "not the password")
    alert = page.get_by_role("alert")
    alert.filter(has_text=re.compile("Log-in failed")).wait_for()
    assert "/ops" not in page.url and page.evaluate("sessionStorage.length") == 0


def test_the_log_in_form_works_from_the_keyboard(page: Any, web_server: WebServer) -> None:
    username, password = web_server.user(Role.PLANNER)
    page.goto(f"{web_server.base_url}/?lang=en")
    page.keyboard.press("Tab")  # the skip link comes first
    expect_focus(page, "className", "skip-link")
    page.get_by_label("User name").focus()
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/ops$"))


@pytest.mark.parametrize(
    ("role", "home"),
    [(Role.DISPATCHER, "/ops"), (Role.ADMINISTRATOR, "/ops"), (Role.FIELD_CREW, "/ops"),
     (Role.HOUSEHOLD_CUSTOMER, "/portal"), (Role.ENTERPRISE_CUSTOMER, "/portal")],
)
def test_each_role_lands_on_its_own_page(page: Any, web_server: WebServer, role: Role,
                                         home: str) -> None:
    username, password = web_server.user(role)
    log_in(page, web_server.base_url, username, password)
    page.wait_for_url(re.compile(home + "$"))
    other = "/portal" if home == "/ops" else "/ops"
    page.goto(web_server.base_url + other)  # the other audience's page sends them home
    page.wait_for_url(re.compile(home + "$"))


def test_the_pages_use_no_outside_address(page: Any, web_server: WebServer) -> None:
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url)
            if not r.url.startswith(web_server.base_url) else None)
    username, password = web_server.user(Role.DISPATCHER)
    log_in(page, web_server.base_url, username, password)
    page.wait_for_url(re.compile(r"/ops$"))
    page.wait_for_load_state("networkidle")
    assert outside == []


def test_the_ops_centre_loads_the_gl2d_bundle_of_plotly(web_server: WebServer) -> None:
    """The operations centre loads plotly.js's gl2d partial bundle from the locked npm install
    (a third of the full bundle: the page is interactive sooner on a first visit); the portal
    keeps the full bundle of the installed plotly package."""
    import httpx

    ops = httpx.get(f"{web_server.base_url}/ops").text
    assert 'src="/static/vendor/plotly-gl2d.min.js"' in ops
    gl2d = httpx.get(f"{web_server.base_url}/static/vendor/plotly-gl2d.min.js")
    assert gl2d.status_code == 200 and "plotly.js (gl2d - minified)" in gl2d.text[:200]
    full = httpx.get(f"{web_server.base_url}/static/vendor/plotly.min.js")
    assert full.status_code == 200 and len(full.content) > 2 * len(gl2d.content)
