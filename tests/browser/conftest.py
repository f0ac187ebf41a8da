"""Fixtures for real headless-Chromium tests (helpers in tests/browser/support.py).

chromium (session)     a Playwright Browser on Debian's Chromium ($GRID_CHROMIUM or PATH)
make_live_server       make_live_server(redis_server=None, config=None) -> LiveServer
live_server            make_live_server() on the session redis-server
own_redis              a private redis-server for one test, .stop() and .start() on its port
page / page_log        a fresh 1920x1080 zh-CN Asia/Shanghai page, and what it logged

Every test in this folder is marked `browser` and `slow` (and `db` when it starts a live
server). A missing Chromium or CJK font fails the tests with the apt packages to install;
browser tests never skip.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from tests.browser.support import (
    APT_PACKAGES,
    CHROMIUM_ARGS,
    PageLog,
    find_chromium,
    list_cjk_fonts,
    save_screenshot,
    start_live_server,
)
from tests.conftest import copy_city
from workers.embedded_redis import EmbeddedRedis

HERE = Path(__file__).resolve().parent
LIVE_FIXTURES = {"live_server", "make_live_server"}
REPORTS = pytest.StashKey[dict]()
PAGE_TIMEOUT_MS = 15_000  # an upper bound for waits, never a measured duration


def pytest_collection_modifyitems(items):
    for item in items:  # this hook sees the whole session's items: keep to this folder
        if not Path(item.path).is_relative_to(HERE):
            continue
        item.add_marker(pytest.mark.browser)
        item.add_marker(pytest.mark.slow)
        if LIVE_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.db)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so `page` knows at teardown if the test failed."""
    report = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    return report


# ---------------------------------------------------------------- the browser

@pytest.fixture(scope="session")
def chromium():
    binary = find_chromium()
    if binary is None:
        where = f"GRID_CHROMIUM={os.environ['GRID_CHROMIUM']} is not an executable" \
            if os.environ.get("GRID_CHROMIUM") else "no `chromium` on PATH"
        pytest.fail(f"the browser tests need Chromium ({where}): apt-get install {APT_PACKAGES}",
                    pytrace=False)
    if not list_cjk_fonts():
        pytest.fail("fontconfig lists no Chinese font (`fc-list :lang=zh` is empty), so the wall "
                    f"would render tofu: apt-get install fontconfig {APT_PACKAGES}", pytrace=False)
    playwright = sync_playwright().start()
    try:  # launch() gives the browser a fresh temporary profile and removes it on close
        browser = playwright.chromium.launch(executable_path=binary, args=CHROMIUM_ARGS, headless=True)
    except PlaywrightError as exc:
        playwright.stop()
        pytest.fail(f"{binary} did not start: {exc}", pytrace=False)
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def _browser_page(chromium, request):
    context = chromium.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN",
                                   timezone_id="Asia/Shanghai")
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    log = PageLog().attach(page)
    yield page, log
    reports = request.node.stash.get(REPORTS, {})
    if any(report.failed for report in reports.values()):
        print(f"screenshot: {save_screenshot(page, request.node.nodeid + '-failed')}\n{log}")
    context.close()


@pytest.fixture
def page(_browser_page):
    """A new page in its own browser context; a failing test leaves a screenshot in test-artifacts/."""
    return _browser_page[0]


@pytest.fixture
def page_log(_browser_page):
    """The `page`'s PageLog: console errors, page errors, requests, failed requests."""
    return _browser_page[1]


# ---------------------------------------------------------------- the system under test

@pytest.fixture
def own_redis(tmp_path):
    """A redis-server for this test alone. stop() and start() keep its port, so clients
    reconnect to the same URL; it persists like the embedded default (AOF), so data survives."""
    server = EmbeddedRedis(tmp_path / "own-redis", persist=True).start()
    yield server
    server.stop()


@pytest.fixture
def make_live_server(city_template, tmp_path, postgres, redis_server):
    """make_live_server(redis_server=None, config=None): a LiveServer on a fresh copy of the
    reference city and the given redis-server (the session one by default), stopped after the test."""
    session_redis, started, databases = redis_server, [], []

    def make(redis_server=None, config=None):
        url = copy_city(city_template, tmp_path, postgres, name=f"live-{len(databases)}")
        databases.append(url)
        server = start_live_server(url, redis_server or session_redis, config)
        started.append(server)
        return server

    yield make
    for server in reversed(started):
        server.stop()
    if postgres is not None:
        for url in databases:
            postgres.drop(url)


@pytest.fixture
def live_server(make_live_server):
    return make_live_server()
