"""``robot keys init``: a key pair for operator tokens, and what the authorizer needs."""

from __future__ import annotations

import argparse
from pathlib import Path

from robot.cli.policy import OK, error, missing_extra


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("keys", help="manage the key pair that signs operator tokens")
    actions = parser.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    init = actions.add_parser("init", help="make a key pair and print what the authorizer needs")
    init.add_argument(
        "--out",
        type=Path,
        default=Path("operator-keys"),
        help="folder for public.pem (and private.pem) (default: operator-keys)",
    )
    init.add_argument(
        "--alg",
        choices=("ES256", "RS256", "RS512"),
        default="ES256",
        help="signing algorithm; ES256 keys are small and fast (default)",
    )
    init.add_argument(
        "--secret-id",
        help="store the private key in this new Secrets Manager secret instead of a local file",
    )
    init.add_argument("--region", help="AWS region for --secret-id (default: your AWS config)")
    init.set_defaults(func=run_init)


def run_init(args: argparse.Namespace) -> int:
    try:
        from robot.contracts import tokens

        if args.secret_id:
            import boto3
    except ModuleNotFoundError as exc:
        return missing_extra("keys", "cloud", exc)
    client = None
    if args.secret_id:
        client = boto3.client("secretsmanager", region_name=args.region)
    try:
        keys = tokens.init_keys(args.out, args.alg, args.secret_id, client)
    except FileExistsError as exc:
        return error("keys", exc)
    print(tokens.instructions(keys))
    return OK
