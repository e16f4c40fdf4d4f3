"""``robot run``: the robot daemon."""

from __future__ import annotations

import argparse
import asyncio

from robot.cli.policy import OK, USAGE, config_command, load_config


def register(subparsers: argparse._SubParsersAction) -> None:
    config_command(subparsers, "run", "run the robot daemon", run)


def run(args: argparse.Namespace) -> int:
    settings = load_config(args.config, "run")
    if settings is None:
        return USAGE
    from robot.daemon import daemon

    asyncio.run(daemon.run(settings))
    return OK
