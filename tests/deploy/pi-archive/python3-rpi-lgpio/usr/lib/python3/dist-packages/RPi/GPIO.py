"""Stand-in for Raspberry Pi's RPi.GPIO on lgpio (tests/deploy/pi-archive/README.md)."""

import lgpio


def __getattr__(name: str) -> object:
    lgpio.gpiochip_open(0)  # fails: no GPIO chip here
    raise AttributeError(name)
