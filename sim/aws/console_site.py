"""The operator console as the simulator serves it: the console Lambda (``cloud/site``) with
the front's own address as the API, and no identity provider to sign in with (the simulator
hands out its development token in the printed address instead); the page may connect to the
local signaling service instead of AWS's.

    site = console_site.site(front.url, video.viewer_origin())
    front.lambda_routes["GET /"] = front.lambda_routes["GET /{file+}"] = site
"""

from __future__ import annotations

from cloud.site.app import ROOT, ConsoleSite, Settings

__all__ = ["ROOT", "ROUTES", "site"]

# The console's routes, open without a token as in the template.
ROUTES = ("GET /", "GET /{file+}")


def site(api_url: str, signaling_origin: str) -> ConsoleSite:
    """``signaling_origin``: the local KVS signaling service's viewer host (``wss://``),
    which the page's policy lets it reach."""
    return ConsoleSite(Settings(api_url=api_url, connect_origins=(signaling_origin,)))
