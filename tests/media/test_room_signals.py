"""The mute button and the status light at the robot, with gpiozero's mock pins (the real
library against simulated pins, as tests/silicon does for the boards)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gpiozero.pins.mock import MockFactory

from robot.producer import room_signals
from robot.producer.audio import AudioEngine, Volume
from sim.robot import room

BUTTON, LED = 17, 27


async def until(predicate, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_the_button_mutes_and_unmutes_and_the_light_shows_it(tmp_path: Path) -> None:
    factory = MockFactory()
    engine = AudioEngine(room.create({}), Volume(tmp_path / "volume"))
    gadgets = room_signals.attach(
        engine, {"mute_button": BUTTON, "status_led": LED}, pin_factory=factory
    )
    led = factory.pin(LED)
    try:
        assert led.state == 0  # nobody listens
        track = engine.track()
        assert led.state == 1
        button = factory.pin(BUTTON)
        button.drive_low()  # pressed: the pin to ground
        await until(lambda: engine.muted)
        assert led.state == 0
        assert engine.state["muted"]
        button.drive_high()
        await asyncio.sleep(0.1)  # past the bounce time
        button.drive_low()
        await until(lambda: not engine.muted)
        assert led.state == 1
        track.stop()
        assert led.state == 0
    finally:
        for gadget in gadgets:
            gadget.close()
