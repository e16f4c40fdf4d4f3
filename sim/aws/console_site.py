"""The operator console as the simulator serves it: the console Lambda (``cloud/site``) with
the front's own address as the API, and no identity provider to sign in with (the simulator
hands out its development token in the printed address instead); the page may connect to the
local signaling service instead of AWS's.

    site = console_site.site(front.url, video.signaling.url)
    front.lambda_routes["GET /"] = front.lambda_routes["GET /{file+}"] = site
"""

from __future__ import annotations

from cloud.site.app import ROOT, ConsoleSite, Settings

__all__ = ["ROOT", "ROUTES", "site"]

# The console's routes, open without a token as in the template.
ROUTES = ("GET /", "GET /{file+}")


def site(api_url: str, signaling_url: str) -> ConsoleSite:
    """``signaling_url``: the local KVS signaling service, which the page's policy lets it
    reach (``ws://`` for the viewer's WebSocket)."""
    origin = signaling_url.replace("http://", "ws://", 1)
    return ConsoleSite(Settings(api_url=api_url, connect_origins=(origin,)))
