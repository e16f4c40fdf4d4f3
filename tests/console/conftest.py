from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from sim.aws.console_site import ROOT
from tests.support.browser import chromium
from tests.support.stack import RecordingStack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingStack]:
    """The whole simulated stack on free ports, as `robot sim` runs it."""
    with RecordingStack(tmp_path_factory.mktemp("sim"), port=0) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as running:
        yield running


@pytest.fixture
def pages(browser: Any) -> Iterator[list[Any]]:
    """Pages a test opens, closed after it (each holds a viewer of the robot's camera)."""
    opened: list[Any] = []
    yield opened
    for page in opened:
        page.close()


class _Modules(SimpleHTTPRequestHandler):
    """The console's folder as plain static files, and at / a page without the console's
    elements: what runs there needs no document."""

    def do_GET(self) -> None:
        if self.path != "/":
            return super().do_GET()
        body = b"<!doctype html><title>console modules</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def modules(browser: Any) -> Iterator[Any]:
    """A page where tests import the console's modules (``import("/drive.js")``)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Modules, directory=str(ROOT)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    page = browser.new_page()
    page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
    yield page
    page.close()
    server.shutdown()
    server.server_close()
