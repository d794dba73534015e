"""Fixtures for tests that drive a real browser: Debian's headless Chromium through Playwright.

The browser is the system's ``/usr/bin/chromium`` (``make test`` installs the Debian
package); Playwright only drives it and never downloads a browser of its own. Without
Chromium or the playwright package these tests fail, saying what to install.

Playwright's sync API runs an asyncio event loop in the test's thread, and Django then
refuses ORM calls from that thread (SynchronousOnlyOperation), though nothing here is
asynchronous: the tests seed rows and the live server answers in its own thread. Each
browser test therefore allows it, for its own duration only.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("ATHENS_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(autouse=True)
def allow_orm_beside_playwright(monkeypatch):
    # Autouse, so it is set up before the database fixtures and torn down after them.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def browser():
    """A headless Chromium, one per test: Playwright's loop must not outlive the test, or
    every later test in the session would look as if it ran inside an event loop."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: apt-get install chromium (make test does)")
    from playwright import sync_api
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def screenshot(page):
    """``screenshot("name")`` saves the whole page as test-artifacts/<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
