"""Operator console figures, against the simulated stack as `robot sim` runs it, in headless
Chromium.

    .venv/bin/python benchmarks/console.py

- Key press -> wheel actuation, over the data channel and over POST /publish: from the
  keydown event's time stamp in the page to the time of the daemon's first telemetry report
  naming the command's id (sent as it applies the command). Both clocks are this machine's
  wall clock.
- Console open -> signed in, video playing and telemetry live: from the start of navigation
  to the later of the first presented frame and the first telemetry message in the page.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.sim_stack import actuation_of, percentile
from tests.support.browser import chromium
from tests.support.console import console_url, open_console, wait_for_path
from tests.support.stack import RecordingStack

PRESSES = 60
OPENINGS = 5

# Every keydown's time stamp, on the wall clock, before the console's own handler runs.
KEYDOWN_SCRIPT = """
window.keydowns = [];
addEventListener("keydown", (event) => {
  if (!event.repeat) window.keydowns.push(performance.timeOrigin + event.timeStamp);
}, { capture: true });
"""


def key_to_actuation(stack: RecordingStack, page: Any, path: str) -> list[float]:
    """Milliseconds from each press of the up arrow to the wheels taking its command."""
    page.set_checked("#p2p", path == "datachannel")
    wait_for_path(page, path)
    latencies = []
    for _ in range(PRESSES):
        stack.drain_telemetry()
        page.keyboard.down("ArrowUp")
        pressed_ms, command_id = page.evaluate(
            "[window.keydowns.at(-1),"
            " window.robotConsole.sent.findLast(s => s.action === 'drive').id]"
        )
        applied = actuation_of(stack, command_id)
        page.keyboard.up("ArrowUp")
        stack.wait_for_telemetry(lambda m: (m.get("command") or {}).get("action") == "stop", 5)
        latencies.append(applied * 1000 - pressed_ms)
        page.wait_for_timeout(150)
    return latencies


def console_ready(stack: RecordingStack, browser: Any) -> list[float]:
    """Milliseconds from navigation to video playing and telemetry shown, per fresh page."""
    figures = []
    for _ in range(OPENINGS):
        page = open_console(browser, console_url(stack))
        page.wait_for_function("window.robotConsole.firstMessageAt !== null", timeout=10_000)
        figures.append(
            page.evaluate(
                "Math.max(window.robotViewer.firstFrameMs, window.robotConsole.firstMessageAt)"
            )
        )
        page.close()
    return figures


def row(name: str, value: str, target: str) -> None:
    print(f"  {name:<44} {value:>12}   target {target}")


def main() -> None:
    with (
        tempfile.TemporaryDirectory() as state_dir,
        chromium() as browser,
        RecordingStack(Path(state_dir), port=0) as stack,
    ):
        print(f"\nKey press -> wheel actuation, {PRESSES} presses each (headless Chromium)")
        page = open_console(browser, console_url(stack), init_script=KEYDOWN_SCRIPT)
        for path, target in (("datachannel", 10), ("publish", 20)):
            latencies = key_to_actuation(stack, page, path)
            row(f"{path}: p50", f"{statistics.median(latencies):.1f} ms", f"<= {target} ms")
            row(f"{path}: p99", f"{percentile(latencies, 99):.1f} ms", "")
        page.close()
        print(f"\nConsole open -> signed in, video playing, telemetry live ({OPENINGS} opens)")
        ready = console_ready(stack, browser)
        row("median", f"{statistics.median(ready):.0f} ms", "<= 2000 ms")
        row("worst", f"{max(ready):.0f} ms", "")


if __name__ == "__main__":
    main()
