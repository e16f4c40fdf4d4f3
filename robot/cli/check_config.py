"""``robot check-config``: report every problem in the config before the daemon meets it."""

from __future__ import annotations

import argparse

from robot.cli.policy import OK, USAGE, config_command, load_config


def register(subparsers: argparse._SubParsersAction) -> None:
    config_command(subparsers, "check-config", "check config.json and report every problem", run)


def run(args: argparse.Namespace) -> int:
    settings = load_config(args.config, "check-config")
    if settings is None:
        return USAGE
    print(
        f"{args.config}: OK (thing {settings.thing_name}, board {settings.motor_driver}, "
        f"endpoint {settings.endpoint}:{settings.port})"
    )
    return OK
