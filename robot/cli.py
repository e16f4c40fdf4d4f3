"""``robot``: the command line. Each subcommand lives in its own module in robot/commands/."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# Each module has register(subparsers), which adds its parser and sets ``func``.
# Modules import their heavy dependencies inside ``func``, so ``robot --help`` stays fast.
COMMANDS = (
    "run",
    "check_config",
    "stop_motors",
    "sim",
    "keys",
    "token",
    "provision",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="robot", description="Telepresence robot")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"robot.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # The IoT SDK logs every packet at INFO; its warnings are what a person needs.
    sdk_level = logging.DEBUG if args.verbose else logging.WARNING
    logging.getLogger("AWSIoTPythonSDK").setLevel(sdk_level)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
