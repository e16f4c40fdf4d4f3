from __future__ import annotations

import asyncio
import inspect
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from robot.contracts.signals import classify_status_line
from robot.daemon.supervisor import MediaStatus, MediaSupervisor, ProducerSpec, Timing

STANDINS = Path(__file__).parent / "standins"
# Short enough for tests, the same shape as the daemon's.
FAST = Timing(
    first_backoff_s=0.05,
    max_backoff_s=0.2,
    ready_timeout_s=1.5,
    stop_grace_s=0.5,
    stable_after_s=30.0,
    failed_after=3,
)


def standin(name: str, *args: str, env: dict[str, str] | None = None) -> ProducerSpec:
    """A stand-in producer script from tests/media/standins."""
    return ProducerSpec(
        name,
        [sys.executable, str(STANDINS / f"{name}.py"), *args],
        env=env or {},
        classifier=lambda: classify_status_line,
    )


class Watcher:
    """Every status the supervisor reports, and a way to wait for one."""

    def __init__(self) -> None:
        self.history: list[dict] = []
        self._changed = asyncio.Event()

    def __call__(self, status: MediaStatus) -> None:
        self.history.append(status.as_dict())
        self._changed.set()

    async def until(self, predicate: Callable[[dict], bool], timeout: float = 10.0) -> dict:
        async with asyncio.timeout(timeout):
            while True:
                for status in self.history:
                    if predicate(status):
                        return status
                self._changed.clear()
                await self._changed.wait()


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests in a fresh event loop, as the daemon runs (asyncio.run)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
    return True


@pytest.fixture
def watcher() -> Watcher:
    return Watcher()


def supervise(spec: ProducerSpec, watcher: Watcher, timing: Timing = FAST) -> MediaSupervisor:
    return MediaSupervisor(spec, timing, on_change=watcher)
