"""``robot``: the command line, on top of every layer. Each subcommand lives in its own module
of this package, with ``register(subparsers)``; the operator tools (``sim``, ``keys``, ``token``,
``provision``) are here, above the daemon and the simulator, not inside them.

Commands print results on stdout and errors on stderr, and exit 0 when done, 1 when they ran
and could not do their job, 2 when nothing was done (bad arguments, a config with problems).
"""

from __future__ import annotations

import argparse
import logging
import sys

from robot.cli import (
    check_config,
    doctor,
    keys,
    provision,
    run,
    sim,
    stop_motors,
    token,
)

# Each module's register(subparsers) adds its parser and sets ``func``. They import their
# heavy dependencies inside ``func``, so ``robot --help`` is fast.
GROUPS = {
    "on the robot": (run, check_config, doctor, stop_motors),
    "for operators": (sim, keys, token, provision),
}
EPILOG = "exit codes: 0 done, 1 failed, 2 nothing done (bad arguments or config)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="robot",
        usage="robot [-h] [-v] COMMAND [options]",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    subparsers = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", help=argparse.SUPPRESS
    )
    listing = []
    for group, modules in GROUPS.items():
        listing.append(f"{group}:")
        for module in modules:
            before = set(subparsers.choices)
            module.register(subparsers)
            for action in subparsers._choices_actions:
                if action.dest not in before:
                    listing.append(f"  {action.dest:<14}{action.help}")
    parser.description = "Telepresence robot: the daemon, its checks, and the simulator\n\n" + (
        "\n".join(listing)
    )
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
