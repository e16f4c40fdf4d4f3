"""``robot run``: the robot daemon."""

from __future__ import annotations

import argparse
import asyncio

from robot.cli.policy import OK, USAGE, config_command, error, load_config


def register(subparsers: argparse._SubParsersAction) -> None:
    config_command(subparsers, "run", "run the robot daemon", run)


def run(args: argparse.Namespace) -> int:
    settings = load_config(args.config, "run")
    if settings is None:
        return USAGE
    import drivers
    from robot.daemon import daemon

    try:
        asyncio.run(daemon.run(settings))
    except drivers.DriverError as exc:  # one line in the journal, not a traceback per restart
        return error("run", f"board {settings.motor_driver}: {exc}")
    return OK
