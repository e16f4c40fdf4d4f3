"""The media supervisor: keeps one video producer process running, beside the daemon.

    async with MediaSupervisor(spec, on_change=report) as media:
        ...                          # media.status goes into telemetry

The producer runs in its own process group and dies with the daemon, even when the
daemon is SIGKILLed (``PR_SET_PDEATHSIG``). Its output is read line by line as it comes
(a producer never blocks on a full pipe; a line longer than ``max_line_bytes`` is cut) and
tells readiness, viewers and trouble. A producer that exits, never becomes ready, or
reports a fatal error is stopped and started again after a backoff (``Timing``); after
``failed_after`` failures in a row the state is ``failed`` and it keeps retrying at the
longest backoff. Stopping sends SIGINT to the group, then SIGKILL after a grace period.

A producer that takes a control socket (``ProducerSpec.control_flag``) gets a fresh one per
run (robot/contracts/control.py); the daemon's end goes to ``control`` (the console link) for
the run's duration. The supervisor only supervises: what goes over the socket is the link's.

Everything here is non-blocking on the daemon's loop: driving never waits on video.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from robot.contracts.signals import Classifier, Signal
from robot.posix.processes import die_with_parent

log = logging.getLogger(__name__)


class ControlPeer(Protocol):
    """Who takes the daemon's end of each run's control socket (the console link)."""

    def attach(self, sock: socket.socket) -> None: ...

    async def detach(self) -> None: ...


class MediaState(StrEnum):
    STARTING = "starting"
    READY = "ready"  # signaling connected, nobody watching
    STREAMING = "streaming"  # at least one viewer
    BACKOFF = "backoff"  # waiting to start it again
    FAILED = "failed"  # failed repeatedly; still retrying, slowly
    OFF = "off"  # not running, by configuration or after stop


@dataclass(frozen=True)
class ProducerSpec:
    """How to run one producer and read what it prints."""

    name: str
    argv: list[str]
    env: dict[str, str]
    classifier: Callable[[], Classifier]  # a fresh reader per run (it may count viewers)
    cwd: Path | None = None
    # The option that hands it the control socket's file descriptor; None: it takes none.
    control_flag: str | None = None


@dataclass(frozen=True)
class Timing:
    first_backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    ready_timeout_s: float = 30.0
    stop_grace_s: float = 5.0
    stable_after_s: float = 60.0  # ready this long, a later exit counts as a first failure
    failed_after: int = 5
    max_line_bytes: int = 4096

    def backoff(self, failures: int) -> float:
        return min(self.first_backoff_s * 2 ** max(0, failures - 1), self.max_backoff_s)


@dataclass
class MediaStatus:
    state: MediaState = MediaState.OFF
    producer: str = ""
    pid: int | None = None
    restarts: int = 0
    last_error: str | None = None
    viewers: int = 0
    audio: dict[str, Any] | None = None  # what the producer last said of its audio

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "state": str(self.state)}


@dataclass
class _Run:
    """What one run of the producer said, as it goes."""

    ready: asyncio.Event = field(default_factory=asyncio.Event)
    fatal: asyncio.Event = field(default_factory=asyncio.Event)
    reason: str = ""


class MediaSupervisor:
    def __init__(
        self,
        spec: ProducerSpec,
        timing: Timing | None = None,
        on_change: Callable[[MediaStatus], None] | None = None,
        control: ControlPeer | None = None,
    ) -> None:
        self.spec = spec
        self.timing = timing or Timing()
        self.status = MediaStatus(producer=spec.name)
        self._on_change = on_change
        self.control = control
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> MediaSupervisor:
        self._task = asyncio.create_task(self.run(), name="media-supervisor")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def run(self) -> None:
        """Keep the producer running until cancelled; cancelling stops it."""
        failures = 0
        try:
            while True:
                self._set(state=MediaState.STARTING, viewers=0)
                started = time.monotonic()
                ready_for = await self._run_once()
                if ready_for >= self.timing.stable_after_s:
                    failures = 0
                failures += 1
                log.warning(
                    "video producer %s stopped after %.1f s: %s",
                    self.spec.name,
                    time.monotonic() - started,
                    self.status.last_error,
                )
                failed = failures >= self.timing.failed_after
                self._set(
                    state=MediaState.FAILED if failed else MediaState.BACKOFF, pid=None, viewers=0
                )
                await asyncio.sleep(self.timing.backoff(failures))
                self._set(restarts=self.status.restarts + 1)
        finally:
            self._set(state=MediaState.OFF, pid=None, viewers=0)

    async def _run_once(self) -> float:
        """Run the producer until it must be restarted; how long it was ready."""
        argv, ours, theirs = list(self.spec.argv), None, None
        if self.spec.control_flag is not None and self.control is not None:
            ours, theirs = socket.socketpair()
            argv += [self.spec.control_flag, str(theirs.fileno())]
        try:
            return await self._run_process(argv, theirs, ours)
        finally:  # closing twice is harmless; this covers every way out
            if theirs is not None:
                theirs.close()

    async def _run_process(
        self, argv: list[str], theirs: socket.socket | None, ours: socket.socket | None
    ) -> float:
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                env=self.spec.env,
                cwd=self.spec.cwd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
                # SIGKILL: the C sample handles SIGINT only, and nothing may outlive the daemon.
                preexec_fn=die_with_parent(signal.SIGKILL),
                pass_fds=() if theirs is None else (theirs.fileno(),),
            )
        except OSError as exc:
            if ours is not None:
                ours.close()
            self._set(last_error=f"cannot start {self.spec.argv[0]}: {exc.strerror or exc}")
            return 0.0
        self._set(pid=process.pid)
        if ours is not None:
            assert theirs is not None and self.control is not None
            theirs.close()  # the child has its copy; ours sees the end when the child is gone
            self.control.attach(ours)
        run = _Run()
        assert process.stdout is not None
        reader = asyncio.create_task(self._read(process.stdout, run))
        ready_at: float | None = None
        try:
            ready_at = await self._watch(process, run, reader)
        finally:
            if ours is not None and self.control is not None:
                await self.control.detach()
            await self._stop(process)
            # The group is gone, so the pipe reaches its end; what is left is still read.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reader, self.timing.stop_grace_s)
        return 0.0 if ready_at is None else time.monotonic() - ready_at

    async def _watch(
        self, process: asyncio.subprocess.Process, run: _Run, reader: asyncio.Task[None]
    ) -> float | None:
        """Wait until the run must end (its reason in last_error); when it became ready."""
        exited = asyncio.create_task(process.wait())
        became_ready = asyncio.create_task(run.ready.wait())
        fatal = asyncio.create_task(run.fatal.wait())
        try:
            await asyncio.wait(
                {exited, became_ready, fatal},
                timeout=self.timing.ready_timeout_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if not run.ready.is_set():
                if not (exited.done() or fatal.done()):
                    self._set(last_error=f"not ready within {self.timing.ready_timeout_s:g} s")
                    return None
            else:
                ready_at = time.monotonic()
                await asyncio.wait({exited, fatal}, return_when=asyncio.FIRST_COMPLETED)
            if exited.done():
                # Its last words (a fatal line just before exiting) are still in the pipe.
                await asyncio.wait({reader}, timeout=1.0)
            if run.fatal.is_set():
                self._set(last_error=run.reason)
            else:
                self._set(
                    last_error=f"exited with code {process.returncode}"
                    + (f" after: {run.reason}" if run.reason else "")
                )
            return ready_at if run.ready.is_set() else None
        finally:
            for task in (exited, became_ready, fatal):
                task.cancel()

    async def _read(self, stream: asyncio.StreamReader, run: _Run) -> None:
        classify = self.spec.classifier()
        async for line in _lines(stream, self.timing.max_line_bytes):
            log.debug("%s: %s", self.spec.name, line)
            found = classify(line)
            if found is not None:
                self._signal(found, run)

    def _signal(self, found: Signal, run: _Run) -> None:
        if found.kind == "ready":
            run.ready.set()
            if self.status.state == MediaState.STARTING:
                self._set(state=MediaState.READY)
        elif found.kind == "viewers":
            viewers = int(found.value)
            state = MediaState.STREAMING if viewers else MediaState.READY
            self._set(viewers=viewers, state=state if run.ready.is_set() else self.status.state)
        elif found.kind == "audio":
            with contextlib.suppress(ValueError):
                audio = json.loads(str(found.value))
                if isinstance(audio, dict):
                    self._set(audio=audio)
        elif found.kind == "fatal":
            run.reason = str(found.value)
            run.fatal.set()
        else:
            run.reason = str(found.value)
            log.warning("video producer %s: %s", self.spec.name, found.value)

    async def _stop(self, process: asyncio.subprocess.Process) -> None:
        """SIGINT to the group, SIGKILL after the grace period; reaps the producer."""
        if process.returncode is None:
            _signal_group(process.pid, signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), self.timing.stop_grace_s)
            except TimeoutError:
                log.warning("video producer %s ignored SIGINT; killing it", self.spec.name)
        # Also whatever it started and left behind in its group.
        _signal_group(process.pid, signal.SIGKILL)
        await process.wait()

    def _set(self, **changes: Any) -> None:
        before = self.status.as_dict()
        for key, value in changes.items():
            setattr(self.status, key, value)
        if self._on_change is not None and self.status.as_dict() != before:
            self._on_change(self.status)


async def _lines(stream: asyncio.StreamReader, max_bytes: int):
    """Decoded lines of at most ``max_bytes``; the rest of a longer line is dropped."""
    pending = b""
    dropping = False
    while chunk := await stream.read(65536):
        pending += chunk
        while True:
            end = pending.find(b"\n")
            if end < 0:
                if len(pending) > max_bytes:
                    if not dropping:
                        yield pending[:max_bytes].decode(errors="replace")
                    dropping, pending = True, b""
                break
            line, pending = pending[:end], pending[end + 1 :]
            if not dropping:
                yield line[:max_bytes].decode(errors="replace")
            dropping = False
    if pending and not dropping:
        yield pending[:max_bytes].decode(errors="replace")


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)
