"""The operator console (``cloud/console/``), served by the simulator's front at ``GET /``.

The front serves it from the same origin as the REST endpoint. Only the files in that folder
are served, by exact name, and ``/console/config.json``, which tells the page where the API is
and that there is no identity provider to sign in with (the simulator hands out its
development token in the printed address instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cloud

ROOT = Path(cloud.__file__).parent / "console"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
CONFIG_PATH = "/console/config.json"


@dataclass(frozen=True)
class Page:
    body: bytes
    content_type: str


def page(path: str) -> Page | None:
    """The file for a request path (``/`` is ``index.html``), or None if there is none."""
    name = "index.html" if path == "/" else path.removeprefix("/")
    if "/" in name or name.startswith(".") or name not in _files():
        return None
    file = ROOT / name
    return Page(file.read_bytes(), TYPES[file.suffix])


def config(api_url: str) -> dict[str, Any]:
    """What ``/console/config.json`` tells the page: the API, and no identity provider."""
    return {"api": api_url, "oidc": None}


def paths() -> list[str]:
    """Every request path with a page: ``/`` and each file by name."""
    return ["/", *sorted(f"/{name}" for name in _files())]


def _files() -> set[str]:
    return {file.name for file in ROOT.iterdir() if file.suffix in TYPES}
