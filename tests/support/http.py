"""A small HTTP client for tests, on the standard library: (status, headers, JSON body)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

Answer = tuple[int, dict[str, str], Any]


def request(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> Answer:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as answer:
            return answer.status, dict(answer.headers.items()), _json(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), _json(error.read())


def get(url: str, headers: dict[str, str] | None = None) -> Answer:
    return request("GET", url, headers=headers)


def post(url: str, body: Any, headers: dict[str, str] | None = None) -> Answer:
    """POST ``body``: a str is sent as it is, anything else as JSON."""
    data = body if isinstance(body, str) else json.dumps(body)
    return request(
        "POST", url, data.encode(), {"Content-Type": "application/json", **(headers or {})}
    )


def _json(data: bytes) -> Any:
    try:
        return json.loads(data) if data else None
    except ValueError:
        return data.decode(errors="replace")
