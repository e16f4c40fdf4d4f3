"""Child processes that die with their parent, even when it is SIGKILLed, and their stop."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable


def die_with_parent(signum: signal.Signals) -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the kernel send ``signum`` to the child when its parent dies
    (``PR_SET_PDEATHSIG``; None where that does not exist).

    The signal fires when the *thread* that started the child exits: start children from a
    thread that lives as long as the parent (the main one, or the event loop's).
    """
    if not sys.platform.startswith("linux"):
        return None
    # Looked up here, in the parent: the child should do as little as possible after fork.
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, int(signum))
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def stop_child(process: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it is still there after ``grace_s``; reaps it either way."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
