"""Fixtures of the browser tests: Debian's chromium driven by Playwright (never a downloaded
browser), and a real daphne process per test serving the page, pointed at the SAME databases
pytest-django created and the same Redis (tests/e2e/processes.py builds that environment).

Playwright's sync API cannot run inside an asyncio loop, so browser tests are plain functions; and
while it runs, the main thread counts as async to Django: the browser is function-scoped (closed
before pytest-django flushes the databases) and tests touch the ORM through `ui.in_thread`."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.browser.ui import Recorder
from tests.e2e.processes import Cluster, Proc

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
# Live updates cross a real server and two browsers: give them more than Playwright's default 5 s.
expect.set_options(timeout=15_000)
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    made = Cluster(tmp_path)
    yield made
    made.stop_all()


@pytest.fixture
def server(cluster: Cluster) -> Proc:
    """One daphne node serving the page and /ws (started after the per-test Redis flush)."""
    web = cluster.daphne("web")
    cluster.wait_ready("web")
    return web


@pytest.fixture
def open_page(browser: Browser, server: Proc) -> Iterator[Callable[..., Page]]:
    """`open_page()` → a page in a fresh browser context (its own cookies: one person), with
    dialogs and page errors recorded on `page.recorder`; every context is closed at teardown."""
    contexts: list[BrowserContext] = []

    def make(viewport: dict[str, int] | None = None) -> Page:
        context = browser.new_context(base_url=server.url, viewport=viewport or DESKTOP,
                                      permissions=["camera", "microphone"])
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.recorder = Recorder(page)
        return page

    yield make
    for context in contexts:
        context.close()
