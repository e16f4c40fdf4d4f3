"""What an operator's browser gets: the console and nothing of the tests. The hooks the tests
read (window.robotConsole, window.robotViewer, the log of commands sent) and the
glass-to-glass reader (latency.js) live in tests/support and reach only the test browser's
pages; the served folder names none of them."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from cloud.site.app import paths
from sim.aws.console_site import ROOT
from tests.support.browser import chromium
from tests.support.console import VIEWPORT, console_url
from tests.support.stack import RecordingStack

HOOKS = ("robotConsole", "robotViewer", "latency.js", "console_hooks", "firstMessageAt")


@pytest.fixture(scope="module")
def operator_browser(stack: RecordingStack) -> Iterator[Any]:
    assert stack.certs is not None
    with chromium(hooks=False, trust=stack.certs.server.cert) as running:
        yield running


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_served_files_name_no_test_hook(stack: RecordingStack) -> None:
    served = [path for path in paths() if path.endswith((".js", ".html"))]
    assert "/main.js" in served and "/view.js" in served and "/state.js" in served
    for path in served:
        source = (ROOT / path.removeprefix("/")).read_text()
        assert not [hook for hook in HOOKS if hook in source], path
    for path in ("/latency.js", "/console_hooks.js"):
        assert status_of(stack.url + path) == 404
    assert status_of(stack.url + "/state.js") == 200


def test_an_operator_watches_without_the_hooks(
    operator_browser: Any, stack: RecordingStack
) -> None:
    page = operator_browser.new_page(viewport=VIEWPORT)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    try:
        page.goto(console_url(stack))
        page.wait_for_function(
            "() => document.getElementById('status').textContent === 'watching'"
            " && document.getElementById('video').videoWidth === 640",
            timeout=30_000,
        )
        page.wait_for_function(
            "() => document.getElementById('path').textContent === 'peer to peer'"
        )
        present = page.evaluate("['robotConsole', 'robotViewer'].filter((name) => name in window)")
        assert present == []
        assert not [url for url in requested if "latency" in url or "hooks" in url]
    finally:
        page.close()
