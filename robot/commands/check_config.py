"""``robot check-config``: report every problem in the config before the daemon meets it."""

from __future__ import annotations

import argparse

from robot import config


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check-config", help="check config.json and report every problem"
    )
    parser.add_argument("--config", default=str(config.DEFAULT_PATH), help="path of config.json")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = config.load(args.config)
    except config.ConfigError as exc:
        print(exc)
        return 1
    print(f"{args.config}: OK (thing {settings.thing_name}, board {settings.motor_driver}, "
          f"endpoint {settings.endpoint}:{settings.port})")
    return 0
