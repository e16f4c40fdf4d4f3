"""An asyncio event loop on a thread of its own, hosting async services (the local KVS
signaling service, the credentials provider) for synchronous code such as ``robot sim``.

    with BackgroundLoop() as loop:
        service = loop.enter(KvsSignalingService(store))   # started on the loop
        ...                                                # stopped, in reverse, on exit
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

T = TypeVar("T")
TIMEOUT_S = 10


class BackgroundLoop:
    def __init__(self, name: str = "sim-aws") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._stack = contextlib.AsyncExitStack()

    def __enter__(self) -> BackgroundLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.run(self._stack.aclose())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(TIMEOUT_S)
            self.loop.close()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(TIMEOUT_S)

    def enter(self, manager: AbstractAsyncContextManager[T]) -> T:
        """Enter ``manager`` on the loop; it is exited when this loop stops."""
        return self.run(self._stack.enter_async_context(manager))
