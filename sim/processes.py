"""Child processes of the simulator that never outlive it."""

from __future__ import annotations

import signal
import subprocess
from typing import IO

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
