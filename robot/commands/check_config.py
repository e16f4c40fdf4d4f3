"""``robot check-config``: report every problem in the config before the daemon meets it."""

from __future__ import annotations

import argparse

from robot import config
from robot.commands import config_command


def register(subparsers: argparse._SubParsersAction) -> None:
    config_command(subparsers, "check-config", "check config.json and report every problem", run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = config.load(args.config)
    except config.ConfigError as exc:
        print(exc)
        return 1
    print(
        f"{args.config}: OK (thing {settings.thing_name}, board {settings.motor_driver}, "
        f"endpoint {settings.endpoint}:{settings.port})"
    )
    return 0
