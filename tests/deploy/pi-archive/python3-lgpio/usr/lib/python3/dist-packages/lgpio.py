"""Stand-in for Raspberry Pi's lgpio (tests/deploy/pi-archive/README.md): no GPIO chip here."""


class error(Exception):
    pass


def gpiochip_open(chip: int) -> int:
    raise error("can not open gpiochip")
