"""The media supervisor against stand-in producers (scripts in standins/, named so)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from robot.daemon.supervisor import MediaState, MediaSupervisor, Timing
from tests.media.conftest import FAST, STANDINS, Watcher, standin, supervise


async def dead_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


async def test_a_crash_loop_backs_off_doubling_then_reports_failed(watcher: Watcher) -> None:
    starts: list[float] = []

    def on_change(status) -> None:
        if status.state == MediaState.STARTING and (
            not watcher.history or watcher.history[-1]["state"] != "starting"
        ):
            starts.append(time.monotonic())
        watcher(status)

    async with MediaSupervisor(standin("crash_loop"), FAST, on_change=on_change):
        failed = await watcher.until(lambda s: s["state"] == "failed")
        await watcher.until(lambda s: s["restarts"] >= 4)
    assert failed["last_error"] == "exited with code 3"
    assert failed["restarts"] == FAST.failed_after - 1
    assert [s["state"] for s in watcher.history][-1] == "off"
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    # Each wait is at least its backoff: 0.05, 0.1, 0.2, then capped at 0.2.
    for failures, gap in enumerate(gaps, start=1):
        assert gap >= FAST.backoff(failures) * 0.9
    assert FAST.backoff(1) == 0.05 and FAST.backoff(2) == 0.1 and FAST.backoff(9) == 0.2


@pytest.mark.parametrize(("up_s", "reaches_failed"), [(0.3, False), (0.0, True)])
async def test_a_run_ready_past_stable_after_counts_its_exit_as_a_first_failure(
    watcher: Watcher, up_s: float, reaches_failed: bool
) -> None:
    """Each run stays ready ``up_s``: past ``stable_after_s`` (0.2) the failure count starts
    again at one, so however many such runs end, none is the ``failed_after``-th in a row."""
    timing = dataclasses.replace(FAST, stable_after_s=0.2)
    runs = FAST.failed_after + 1
    async with supervise(standin("ready_a_while", str(up_s)), watcher, timing):
        await watcher.until(lambda s: s["restarts"] >= runs)
    states = [s["state"] for s in watcher.history]
    assert ("failed" in states) is reaches_failed
    assert states.count("backoff") + states.count("failed") >= runs


def test_the_daemons_backoff_is_1_s_doubling_to_60_s() -> None:
    assert [Timing().backoff(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]


async def test_a_producer_that_never_becomes_ready_is_restarted(watcher: Watcher) -> None:
    async with supervise(standin("never_ready"), watcher):
        first = await watcher.until(lambda s: s["state"] == "starting" and s["pid"])
        backoff = await watcher.until(lambda s: s["state"] == "backoff")
        await watcher.until(lambda s: s["restarts"] == 1 and s["pid"] and s["pid"] != first["pid"])
    assert backoff["last_error"] == "not ready within 1.5 s"
    assert not alive(first["pid"])


async def test_a_fatal_report_restarts_a_producer_that_does_not_exit(watcher: Watcher) -> None:
    async with supervise(standin("fatal"), watcher):
        ready = await watcher.until(lambda s: s["state"] == "ready")
        backoff = await watcher.until(lambda s: s["state"] == "backoff")
        assert backoff["last_error"] == "credentials refused: 403"
        assert not alive(ready["pid"])


async def test_stop_kills_a_producer_that_ignores_sigint_and_its_group(
    watcher: Watcher, tmp_path: Path
) -> None:
    pids_file = tmp_path / "pids"
    supervisor = supervise(standin("ignores_sigint", str(pids_file)), watcher)
    async with supervisor:
        await watcher.until(lambda s: s["state"] == "ready")
        producer, child = map(int, pids_file.read_text().split())
        assert alive(producer) and alive(child)
        stopping = time.monotonic()
    took = time.monotonic() - stopping
    assert not alive(producer)
    # The group's SIGKILL is sent; the kernel finishes the grandchild (now init's) a moment
    # later, so allow it that moment, far less than any process that escaped would live.
    assert await dead_within(child, 5.0), "a child in the producer's group outlived the stop"
    assert took >= FAST.stop_grace_s * 0.9, "SIGINT was ignored, so the grace period was used"
    assert supervisor.status.state == MediaState.OFF and supervisor.status.pid is None


async def test_a_flood_of_output_is_read_through(watcher: Watcher) -> None:
    async with supervise(standin("floods"), watcher, Timing(ready_timeout_s=20)):
        streaming = await watcher.until(lambda s: s["state"] == "streaming", timeout=20)
    assert streaming["viewers"] == 2


async def test_the_producer_dies_with_a_sigkilled_daemon(tmp_path: Path) -> None:
    pids_file = tmp_path / "pids"
    daemon_like = f"""
import asyncio, sys
sys.path.insert(0, {str(Path.cwd())!r})
from robot.daemon.supervisor import MediaSupervisor
from tests.media.conftest import standin
async def main():
    async with MediaSupervisor(standin("ignores_sigint", {str(pids_file)!r})):
        await asyncio.sleep(3600)
asyncio.run(main())
"""
    daemon = subprocess.Popen([sys.executable, "-c", daemon_like])
    try:
        async with asyncio.timeout(15):
            while not pids_file.exists() or not pids_file.read_text():
                await asyncio.sleep(0.05)
        producer, _ = map(int, pids_file.read_text().split())
        assert alive(producer)
        daemon.send_signal(signal.SIGKILL)
        daemon.wait()
        async with asyncio.timeout(5):
            while alive(producer):
                await asyncio.sleep(0.05)
    finally:
        daemon.kill()
        daemon.wait()
        # The stand-in's own child is no child of the daemon: on the robot, systemd ends the
        # service's whole control group. Here the test ends it, so nothing outlives the suite.
        if pids_file.exists() and pids_file.read_text():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(int(pids_file.read_text().split()[0]), signal.SIGKILL)


async def test_a_producer_that_cannot_start_is_retried(watcher: Watcher, tmp_path: Path) -> None:
    spec = standin("crash_loop")
    missing = type(spec)("missing", [str(tmp_path / "no-such-producer")], {}, spec.classifier)
    async with supervise(missing, watcher):
        backoff = await watcher.until(lambda s: s["state"] == "backoff")
        await watcher.until(lambda s: s["restarts"] >= 1)
    assert backoff["last_error"].startswith("cannot start")


@pytest.mark.parametrize("name", ["never_ready", "crash_loop"])
async def test_the_loop_stays_responsive_while_supervising(name: str, watcher: Watcher) -> None:
    """Driving shares the loop with the supervisor: the loop must never stall on video."""
    # Every wait on the producer is long here (a 3 s grace, a 1.5 s ready timeout), so a
    # blocking one would stall the loop for far longer than a busy machine's scheduling does.
    patient = dataclasses.replace(FAST, stop_grace_s=3.0)
    worst = 0.0
    async with supervise(standin(name), watcher, patient):
        end = time.monotonic() + 3.0
        while time.monotonic() < end:
            before = time.monotonic()
            await asyncio.sleep(0.005)
            worst = max(worst, time.monotonic() - before)
    assert worst < 1.0, f"the loop stalled for {worst:.3f} s"


def stand_ins_alive() -> list[int]:
    """The stand-in producers running now."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if str(STANDINS).encode() in cmdline and alive(int(pid)):
            found.append(int(pid))
    return found


@pytest.fixture(autouse=True)
def no_stand_in_outlives_its_test() -> Iterator[None]:
    """After each test here, whatever stand-ins it ran are gone (checked per test, so that
    the check never runs before anything it checks)."""
    before = set(stand_ins_alive())
    yield
    deadline = time.monotonic() + 5.0
    while left := set(stand_ins_alive()) - before:
        assert time.monotonic() < deadline, f"stand-ins outlived their test: {sorted(left)}"
        time.sleep(0.02)


def test_the_outlived_check_sees_a_running_stand_in() -> None:
    process = subprocess.Popen([sys.executable, str(STANDINS / "never_ready.py")])
    try:
        deadline = time.monotonic() + 5.0
        while process.pid not in stand_ins_alive():
            assert time.monotonic() < deadline, "the check does not see a stand-in"
            time.sleep(0.02)
    finally:
        process.kill()
        process.wait()
    assert process.pid not in stand_ins_alive()
