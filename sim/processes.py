"""Child processes of the simulator that never outlive it."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import IO


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
        preexec_fn=_die_with_parent(),
    )


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn that makes the kernel send SIGTERM to the child when its parent dies.

    A SIGKILLed `robot sim` cannot run its cleanup; without this its broker would live on,
    holding the port. (The signal fires when the thread that started the child exits, so
    start the broker from a thread that lives as long as the simulator, e.g. the main one.)
    """
    if not sys.platform.startswith("linux"):
        return None
    # Looked up here, in the parent: the child should do as little as possible after fork.
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, int(signal.SIGTERM))
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec
