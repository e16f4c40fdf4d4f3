"""Headless Chromium for tests and benchmarks: Debian's ``chromium``, driven by Playwright
(no browser download), with the flags a test machine needs.

Every page it opens carries the console's test hooks, which operators never get: the script
``console_hooks.js`` (``window.robotConsole``, ``window.robotViewer``), added before the
page's own scripts, and ``/latency.js`` (the glass-to-glass reader), answered by the test.
``chromium(hooks=False)`` opens pages as an operator's browser does."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HERE = Path(__file__).resolve().parent
HOOKS = HERE / "console_hooks.js"
LATENCY = HERE / "latency.js"


class HookedBrowser:
    """A Playwright browser whose ``new_page`` adds the console's test hooks."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser

    def new_page(self, **options: Any) -> Any:
        page = self.browser.new_page(**options)
        page.add_init_script(path=str(HOOKS))
        # Same origin as the page under test, which keeps its address of its own.
        page.route(
            "**/latency.js",
            lambda route: route.fulfill(path=str(LATENCY), content_type="text/javascript"),
        )
        return page

    def __getattr__(self, name: str) -> Any:
        return getattr(self.browser, name)


@contextmanager
def chromium(hooks: bool = True) -> Iterator[Any]:
    """A browser; leaving the block closes it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield HookedBrowser(browser) if hooks else browser
        finally:
            browser.close()
