"""The simulator keeps nothing per telemetry message: thousands of reports through the real
broker into a running stack leave its memory where it was."""

from __future__ import annotations

import gc
import json
import time
import tracemalloc
from collections.abc import Iterator

import pytest

from sim.stack import SimStack
from tests.support.mqtt import connected

MESSAGES = 3000
# A queue nobody drains would keep about 2 KB a message (6 MB here); allow noise only.
ALLOWED_GROWTH_BYTES = 300 * 1024


@pytest.fixture(scope="module")
def plain_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimStack]:
    with SimStack(tmp_path_factory.mktemp("memory"), port=0, heal=False) as stack:
        yield stack


def test_telemetry_leaves_no_trace_in_the_simulator(plain_stack: SimStack) -> None:
    stack = plain_stack
    assert stack.broker is not None and stack.certs is not None
    report = {"type": "state", "link": "online", "wheels": {"left": 0.0, "right": 0.0}}
    counted = {"probe": 0}

    def count(message: dict) -> None:  # keeps nothing but a number
        if "probe" in message:
            counted["probe"] += 1

    stack.telemetry_listeners.append(count)
    with connected(stack.broker, stack.certs.robot, client_id="memory-probe") as robot:
        topic = f"{stack.thing_name}/telemetry"
        for n in range(200):  # every path warmed up first
            robot.publish(topic, json.dumps({**report, "probe": n}), 1)
        _wait_for(lambda: counted["probe"] >= 200)
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for n in range(MESSAGES):
            robot.publish(topic, json.dumps({**report, "probe": n, "pad": "x" * 1500}), 1)
        _wait_for(lambda: counted["probe"] >= 200 + MESSAGES)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
    assert grown < ALLOWED_GROWTH_BYTES, f"{grown} bytes kept for {MESSAGES} messages"


def _wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the stack did not receive the reports"
        time.sleep(0.05)
