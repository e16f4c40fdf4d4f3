"""The console Lambda: the deployed stack serves the operator console from the API's own
origin, so the page calls the API without CORS.

- ``GET /`` and ``GET /{file+}``: the console's files (``cloud/console/``, shipped inside
  this Lambda's package), by exact name; 404 for anything else.
- ``GET /console/config.json``: the page's settings, from the stack's parameters::

      {"api": "https://…/Prod", "oidc": {"issuer", "client_id", "scopes"} | null}

  ``api`` is ``CONSOLE_API_URL`` when set (a custom domain, say), else the address the
  request came to (API Gateway's domain name and stage). ``oidc`` is null without
  ``OIDC_ISSUER`` and ``OIDC_CLIENT_ID``: then operators paste a token.

Every answer carries a Content-Security-Policy: the page's own files only (``default-src
'self'``), connections only to the API, the region's KVS signaling hosts (``AWS_REGION``), the
identity provider and ``CONSOLE_CONNECT_ORIGINS`` (space-separated: a provider's token
endpoint on another host, the simulator's signaling service), and no framing
(``frame-ancestors 'none'``: no page elsewhere can overlay the console's buttons); and
``nosniff`` and ``no-referrer`` (the address's fragment may carry a token).

The simulator's front serves the console through this same class, with its own settings.
Standard library only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent / "console"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
CONFIG_PATH = "/console/config.json"
DEFAULT_SCOPES = "openid robot:view robot:drive"


@dataclass(frozen=True)
class Settings:
    api_url: str = ""  # "": the address each request came to
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_scopes: str = DEFAULT_SCOPES
    region: str = ""  # whose KVS signaling hosts the page may reach; "": none
    connect_origins: tuple[str, ...] = ()  # more origins the page may connect to

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        return cls(
            api_url=environ.get("CONSOLE_API_URL", ""),
            oidc_issuer=environ.get("OIDC_ISSUER", ""),
            oidc_client_id=environ.get("OIDC_CLIENT_ID", ""),
            oidc_scopes=environ.get("OIDC_SCOPES") or DEFAULT_SCOPES,
            region=environ.get("AWS_REGION", ""),
            connect_origins=tuple(environ.get("CONSOLE_CONNECT_ORIGINS", "").split()),
        )


def paths() -> list[str]:
    """Every request path with an answer: ``/``, each file by name, and the settings."""
    return ["/", *sorted(f"/{name}" for name in _files()), CONFIG_PATH]


class ConsoleSite:
    """The console handler with its settings given."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        headers = self.security_headers(event)
        path = event.get("path") or "/"
        if path == CONFIG_PATH:
            return _answer(200, json.dumps(self.config(event)), "application/json", headers)
        stage_path = (event.get("requestContext") or {}).get("path") or path
        if path == "/" and not stage_path.endswith("/"):
            # https://…/Prod would resolve the page's relative scripts against the host's root.
            headers["Location"] = stage_path + "/"
            return {"statusCode": 301, "headers": headers, "body": ""}
        name = "index.html" if path == "/" else path.removeprefix("/")
        if "/" in name or name not in _files():
            return _answer(404, json.dumps({"message": "Not Found"}), "application/json", headers)
        file = ROOT / name
        return _answer(200, file.read_text(encoding="utf-8"), TYPES[file.suffix], headers)

    def api(self, event: dict[str, Any]) -> str:
        return self.settings.api_url or _request_url(event)

    def config(self, event: dict[str, Any]) -> dict[str, Any]:
        settings = self.settings
        oidc = None
        if settings.oidc_issuer and settings.oidc_client_id:
            oidc = {
                "issuer": settings.oidc_issuer,
                "client_id": settings.oidc_client_id,
                "scopes": settings.oidc_scopes,
            }
        return {"api": self.api(event), "oidc": oidc}

    def security_headers(self, event: dict[str, Any]) -> dict[str, str]:
        settings = self.settings
        connect = ["'self'", _origin(self.api(event))]
        if settings.region:
            hosts = f"*.kinesisvideo.{settings.region}.amazonaws.com"
            connect += [f"wss://{hosts}", f"https://{hosts}"]
        if settings.oidc_issuer and settings.oidc_client_id:
            connect.append(_origin(settings.oidc_issuer))
        connect += settings.connect_origins
        policy = (
            "default-src 'self'; "
            f"connect-src {' '.join(dict.fromkeys(connect))}; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
        )
        return {
            "Content-Security-Policy": policy,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        }


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _request_url(event: dict[str, Any]) -> str:
    """The API's base URL as this request reached it: its domain name and stage."""
    context = event.get("requestContext") or {}
    domain = context.get("domainName") or (event.get("headers") or {}).get("Host", "")
    stage = context.get("stage", "")
    return f"https://{domain}/{stage}" if stage else f"https://{domain}"


def _answer(status: int, body: str, content_type: str, headers: dict[str, str]) -> dict[str, Any]:
    # no-cache: a new deployment's files replace the old ones at the next load.
    headers = {**headers, "Content-Type": content_type, "Cache-Control": "no-cache"}
    return {"statusCode": status, "headers": headers, "body": body}


def _files() -> set[str]:
    return {file.name for file in ROOT.iterdir() if file.suffix in TYPES}


_site: ConsoleSite | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point: settings read once per container, on first use."""
    global _site
    if _site is None:
        _site = ConsoleSite(Settings.from_environ(os.environ))
    return _site(event, context)
