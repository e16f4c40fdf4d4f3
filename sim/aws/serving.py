"""An aiohttp application served on one port, as each local stand-in serves its API."""

from __future__ import annotations

import ssl

from aiohttp import web


async def serve(
    app: web.Application, host: str, port: int, context: ssl.SSLContext | None = None
) -> tuple[web.AppRunner, int]:
    """``app`` listening on ``host:port`` (0: a free port, with TLS given a ``context``): its
    runner, which ``cleanup()`` stops, and the port it listens on."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=context)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
