"""What the people at the robot see and press: a button that mutes the robot's microphone, and
a light that is on while someone listens and blinks while an operator speaks.

Both are optional, from ``AUDIO_OPTIONS``: ``mute_button`` (a BCM pin, the button between it
and ground) and ``status_led`` (a BCM pin with an LED and its resistor to ground, or
``"explorerhat"`` for the Explorer HAT's blue light). gpiozero and explorerhat are imported
only when configured.
"""

from __future__ import annotations

import asyncio
from typing import Any

from robot.producer.audio import AudioEngine

EXPLORER_HAT = "explorerhat"
BLINK_S = 0.25


class MuteButton:
    """Each press mutes the robot's microphone, or turns it on again (gpiozero ``Button``)."""

    def __init__(self, engine: AudioEngine, pin: int, pin_factory: Any = None) -> None:
        from gpiozero import Button

        loop = asyncio.get_running_loop()
        self.engine = engine
        self.button = Button(pin, pull_up=True, bounce_time=0.05, pin_factory=pin_factory)
        # gpiozero calls back on its own thread: the engine lives on the loop.
        self.button.when_pressed = lambda: loop.call_soon_threadsafe(self.toggle)

    def toggle(self) -> None:
        self.engine.set_muted(not self.engine.muted)

    def close(self) -> None:
        self.button.close()


class StatusLight:
    """On while a viewer listens, blinking while an operator speaks, off when muted."""

    def __init__(self, light: Any) -> None:
        self.light = light  # gpiozero's LED, or an Explorer HAT light: on, off, blink

    @classmethod
    def from_option(cls, option: Any, pin_factory: Any = None) -> StatusLight:
        if option == EXPLORER_HAT:
            import explorerhat

            return cls(explorerhat.light.blue)
        from gpiozero import LED

        return cls(LED(int(option), pin_factory=pin_factory))

    def show(self, state: dict[str, Any]) -> None:
        if state["muted"] or not state["listening"]:
            self.light.off()
        elif state["speaking"]:
            self.light.blink(BLINK_S, BLINK_S)
        else:
            self.light.on()

    def close(self) -> None:
        self.light.off()
        if hasattr(self.light, "close"):
            self.light.close()


def attach(engine: AudioEngine, options: dict[str, Any], pin_factory: Any = None) -> list[Any]:
    """The button and light ``options`` configure, wired to ``engine``; close them at the end."""
    attached: list[Any] = []
    if options.get("mute_button") is not None:
        attached.append(MuteButton(engine, int(options["mute_button"]), pin_factory))
    if options.get("status_led") is not None:
        light = StatusLight.from_option(options["status_led"], pin_factory)
        engine.listeners.append(light.show)
        light.show(engine.state)
        attached.append(light)
    return attached
