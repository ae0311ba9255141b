"""Fixtures of the browser tests: the web application on a real uvicorn server, driven by
Playwright for Python in Debian's headless Chromium.

* ``web_server`` — the application (API + pages) over its own SQLite store, served by uvicorn
  in a thread on a free port; ``web_server.user(role)`` makes an account of that role and
  answers its credentials. Module-scoped: one store and server per test module.
* ``browser`` — one headless Chromium per session, launched as the issue prescribes
  (``/usr/bin/chromium`` with ``--no-sandbox --disable-gpu ...``). Missing Chromium fails
  with a message saying how to install it, never a skip.
* ``page`` — a fresh browser context and page per test; JavaScript errors on the page fail the
  test; a screenshot is kept in ``test-artifacts/screenshots/<test>.png``.
* ``check_accessibility(page)`` — axe-core (from the locked npm install) on the current page,
  WCAG 2 A/AA rules (labels, contrast, names, keyboard-reachable controls); violations fail.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from waterops.config import Settings
from waterops.model.accounts import CUSTOMER_ROLES, Role
from waterops.web.app import create_app

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
AXE_JS = REPO / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = REPO / "test-artifacts" / "screenshots"
PASSWORD = "demo-password-1"


# ------------------------------------------------------------------------------ the server

class ServerThread:
    """uvicorn serving ``app`` on 127.0.0.1 (a free port) in a daemon thread."""

    def __init__(self, app: FastAPI) -> None:
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        )
        self.thread = threading.Thread(target=self.server.run, name="web-test-server",
                                       daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test web server did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@dataclass
class WebServer:
    """A running web application, and how to make accounts on it."""

    base_url: str
    app: FastAPI
    _admin: Any = None
    _made: dict[str, int] = field(default_factory=dict)

    @property
    def services(self) -> Any:
        return self.app.state.services

    def user(self, role: Role | str, username: str | None = None) -> tuple[str, str]:
        """A new account with ``role``: answers (username, password)."""
        role = Role(role)
        n = self._made[role.value] = self._made.get(role.value, 0) + 1
        username = username or f"{role.value.replace('_', '-')}-{n}-{secrets.token_hex(2)}"
        auth = self.services.auth
        if role in CUSTOMER_ROLES:
            auth.register_customer(username, PASSWORD, role)
        elif role is Role.ADMINISTRATOR:
            auth.create_administrator(username, PASSWORD)
        else:
            if self._admin is None:
                self._admin = auth.create_administrator(f"root-{secrets.token_hex(3)}", PASSWORD)
            auth.create_staff(self._admin, username, PASSWORD, role)
        return username, PASSWORD


def make_settings(folder: Path) -> Settings:
    """Settings of a test application: its own data directory and SQLite store."""
    folder.mkdir(parents=True, exist_ok=True)
    return Settings(data_dir=folder, database_url=f"sqlite:///{folder / 'web.db'}",
                    mqtt_url=None, dask_address=None)


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """The web application (no simulator) on a real server, with an empty store."""
    app = create_app(make_settings(tmp_path_factory.mktemp("web")))
    with ServerThread(app) as base_url:
        yield WebServer(base_url, app)


# ------------------------------------------------------------------------------ the browser

@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright."""
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: run ./dev test (it installs "
                    "Debian's chromium package) or `apt-get install chromium`", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                              headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page in a fresh context (1440×900, English unless the test navigates with ?lang=);
    page errors fail the test; a screenshot is kept as a test artefact."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US",
                                  timezone_id="Asia/Shanghai")
    context.set_default_timeout(15_000)
    tab = context.new_page()
    _wait_for_language_on_goto(tab)
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield tab
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid.split("::", 1)[-1])
        try:
            tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        finally:
            context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def _wait_for_language_on_goto(tab: Any) -> None:
    """Make ``tab.goto`` return only once the page has loaded its language bundle.

    The pages fetch their messages after the load event (``initI18n`` in common.js) and mark
    ``<html data-i18n-ready=LANG>`` when the texts are in place; a test that looked for a
    Chinese heading straight after ``goto`` could see the English placeholder (a CI flake).
    Pages that are not ours (no marker ever) are not waited for beyond the load event."""
    plain_goto = tab.goto

    def goto(url: str, **kwargs: Any) -> Any:
        response = plain_goto(url, **kwargs)
        if "/static/" not in url and "/api/" not in url:
            tab.wait_for_selector("html[data-i18n-ready]", state="attached")
        return response

    tab.goto = goto


def expect_focus(page: Any, prop: str, value: str, *, timeout_ms: int = 5_000) -> None:
    """Wait until the focused element's ``prop`` (``id``, ``tagName`` …) is ``value``; fail
    naming what has the focus instead. Pages move the focus after a key press or a view
    change in their own time: asserting at once raced them on a busy CI machine."""
    try:
        page.wait_for_function(
            "([prop, value]) => document.activeElement && document.activeElement[prop] === value",
            arg=[prop, value], timeout=timeout_ms,
        )
    except Exception:
        actual = page.evaluate(f"document.activeElement && document.activeElement.{prop}")
        raise AssertionError(f"focus: {prop} is {actual!r}, expected {value!r}") from None


def log_in(page: Any, base_url: str, username: str, password: str, *, lang: str = "en") -> None:
    """Log in through the log-in page, as a person would."""
    page.goto(f"{base_url}/?lang={lang}")
    page.get_by_label(re.compile("User name|用户名")).fill(username)
    page.get_by_label(re.compile("Password|密码")).fill(password)
    page.get_by_role("button", name=re.compile("^(Log in|登录)$")).click()


@pytest.fixture
def login(page: Any, web_server: WebServer) -> Callable[..., None]:
    """``login(role)``: a new account of that role, logged in on ``page``."""

    def do(role: Role | str, *, lang: str = "en") -> None:
        username, password = web_server.user(role)
        log_in(page, web_server.base_url, username, password, lang=lang)
        page.wait_for_url(re.compile(r"/(ops|portal)"))
        page.wait_for_selector("html[data-i18n-ready]", state="attached")  # texts in place

    return do


def check_accessibility(page: Any, *, exclude: list[str] | None = None) -> None:
    """Run axe-core's WCAG 2 A/AA rules on the page; fail with the violations found."""
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing: ./dev test runs `npm ci` for the test tools",
                    pytrace=False)
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate(
        """async (exclude) => await axe.run({exclude: exclude.map((s) => [s])},
               {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})""",
        exclude or [],
    )
    problems = [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(" ".join(n["target"]) for n in v["nodes"][:5])
        for v in result["violations"]
    ]
    assert not problems, "accessibility violations:\n" + "\n".join(problems)


@pytest.fixture
def a11y() -> Callable[..., None]:
    """The accessibility check as a fixture (``a11y(page)``)."""
    return check_accessibility
