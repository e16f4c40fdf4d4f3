"""``robot run``: the robot daemon."""

from __future__ import annotations

import argparse
import asyncio
import logging

from robot import config

log = logging.getLogger("robot")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("run", help="run the robot daemon")
    parser.add_argument("--config", default=str(config.DEFAULT_PATH), help="path of config.json")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = config.load(args.config)
    except config.ConfigError as exc:
        log.error("%s", exc)
        return 2
    from robot import daemon

    asyncio.run(daemon.run(settings))
    return 0
