"""Real-browser fixtures: Debian's Chromium through Playwright, against a real server process."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldapp import create_app
from fieldapp.demo import build_demo
from fieldapp.extensions import db
from tests.browser.live import LiveServer, ServerDb

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PHONE = {"width": 360, "height": 740}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Chromium, headless. Missing: skipped locally, a failure in CI."""
    if not Path(CHROMIUM).exists():
        reason = "Chromium not installed: apt-get install chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    # The service worker sends the outbox too (Background Sync): its requests must meet the
    # tests' routes (a failing network, a captive portal) as the page's do, or it would send
    # past them. Read by Playwright's driver, which starts here.
    os.environ["PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS"] = "1"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def server_db(tmp_path_factory: pytest.TempPathFactory) -> ServerDb:
    """The database the servers use, seeded with tests.world; tests read it directly."""
    return ServerDb(tmp_path_factory.mktemp("browser") / "server.sqlite")


@pytest.fixture(scope="session")
def live(server_db: ServerDb, browser: object) -> Iterator[LiveServer]:
    """One server for the tests that leave it running."""
    server = LiveServer(server_db.db_file)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_server(server_db: ServerDb, browser: object) -> Iterator[LiveServer]:
    """A server of the test's own, for tests that stop it or deploy a new version."""
    server = LiveServer(server_db.db_file)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def demo(browser: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server over a fresh demo database, built today (the README's demo, for its journeys)."""
    db_file = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{db_file}",
            "SECRET_KEY": "browser-tests-" + "k" * 32,
            "FIELDAPP_ENV": "development",
        }
    )
    with app.app_context():
        db.create_all()
        build_demo()
        db.session.remove()
        db.engine.dispose()
    server = LiveServer(db_file)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def phone(browser, live: LiveServer):
    """A fresh phone (its own storage and service worker) at 360 × 740."""
    yield from _context(browser)


@pytest.fixture
def phone_factory(browser):
    """Make more phones (each its own storage), closed at the end of the test."""
    contexts = []

    def make():
        context = new_phone(browser)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    for context in contexts:
        assert context.page_errors == [], context.page_errors


def new_phone(browser):
    """A browser context like a phone; uncaught script errors are collected to fail the test."""
    context = browser.new_context(viewport=PHONE, locale="vi-VN")
    context.page_errors = []
    context.on("page", lambda page: page.on("pageerror", lambda e: context.page_errors.append(e)))
    return context


def _context(browser):
    context = new_phone(browser)
    yield context
    context.close()
    assert context.page_errors == [], context.page_errors
