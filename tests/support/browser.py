"""Headless Chromium for tests and benchmarks: Debian's ``chromium``, driven by Playwright
(no browser download), with the flags a test machine needs.

Every page it opens carries the console's test hooks, which operators never get: the script
``console_hooks.js`` (``window.robotConsole``, ``window.robotViewer``), added before the
page's own scripts, and ``/latency.js`` (the glass-to-glass reader), answered by the test.
``chromium(hooks=False)`` opens pages as an operator's browser does.

The console's Content-Security-Policy allows no ``eval``, which Playwright uses for a
``wait_for_function`` given an expression; a hooked page's ``wait_for_function`` passes it on
as a function, which Playwright compiles through the debugger instead."""

from __future__ import annotations

import base64
import re
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
        # The simulator's signaling hosts are wss:// with a certificate of its own CA, which
        # this browser's store does not hold (an operator imports it, see docs/console.md).
        options.setdefault("ignore_https_errors", True)
        page = self.browser.new_page(**options)
        wait_for_function = page.wait_for_function
        page.wait_for_function = lambda expression, **kwargs: wait_for_function(
            as_function(expression), **kwargs
        )
        page.add_init_script(path=str(HOOKS))
        # Same origin as the page under test, which keeps its address of its own.
        page.route(
            "**/latency.js",
            lambda route: route.fulfill(path=str(LATENCY), content_type="text/javascript"),
        )
        return page

    def __getattr__(self, name: str) -> Any:
        return getattr(self.browser, name)


def as_function(expression: str) -> str:
    """A page expression as a function's source (the same when it already is one)."""
    text = expression.strip()
    if text.startswith(("function", "async ")) or re.match(r"^\(?[\w\s,{}]*\)?\s*=>", text):
        return text
    return f"() => ({text})"


def spki_flag(cert: Path) -> str:
    """Chromium's flag that trusts the server certificate ``cert`` by its public key, as an
    operator who trusts the simulator's CA would."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    key = x509.load_pem_x509_certificate(cert.read_bytes()).public_key()
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    return "--ignore-certificate-errors-spki-list=" + base64.b64encode(digest.finalize()).decode()


@contextmanager
def chromium(
    hooks: bool = True, trust: Path | None = None, flags: tuple[str, ...] = ()
) -> Iterator[Any]:
    """A browser, with ``flags`` beside the usual ones; leaving the block closes it.
    ``trust``: a server certificate it accepts (the simulator's, for its wss:// signaling
    hosts)."""
    from playwright.sync_api import sync_playwright

    args = [*FLAGS, *flags] if trust is None else [*FLAGS, *flags, spki_flag(trust)]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            yield HookedBrowser(browser) if hooks else browser
        finally:
            browser.close()
