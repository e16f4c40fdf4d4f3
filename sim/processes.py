"""Child processes of the simulator that never outlive it."""

from __future__ import annotations

import signal
import subprocess
from types import TracebackType
from typing import IO, Self

from robot.posix.processes import die_with_parent


def spawn_child(
    args: list[str], output: IO[bytes], env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a child that the simulator stops itself, in order, and that dies with it.

    Its own session keeps a terminal's Ctrl-C (sent to the whole foreground group) from
    killing the broker while the daemon still shuts down; the parent-death signal covers a
    simulator that is killed outright.
    """
    return subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
        # A SIGKILLed `robot sim` cannot run its cleanup; without this its broker would live
        # on, holding the port. (Start children from the main thread: see die_with_parent.)
        preexec_fn=die_with_parent(signal.SIGTERM),
    )


class ChildService:
    """A service the simulator runs as one child process (mosquitto, coturn): the subclass
    starts it into ``_process`` and stops it; this says how it is and makes it a context
    manager (started on entry, stopped on the way out)."""

    _process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def exited(self) -> bool:
        """Whether it died on its own (a stop() is not an exit)."""
        return self._process is not None and self._process.poll() is not None

    @property
    def returncode(self) -> int | None:
        return self._process.returncode if self._process is not None else None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
