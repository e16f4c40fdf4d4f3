"""``robot token``: mint an operator JWT, signed with a key from Secrets Manager or a file."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from robot.cli.policy import OK, USAGE, error, missing_extra


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "token",
        help="mint an operator token (JWT) for the robot's API",
        description="Print a signed JWT. The private key comes from --secret-id "
        "(or $JWT_PRIVATE_KEY_SECRET_ID) or --key (or $JWT_PRIVATE_KEY_FILE).",
    )
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--subject", help="who the token is for (the sub claim)")
    who.add_argument(
        "--guest",
        metavar="NAME",
        help="a guest link's token instead: for one --robot, robot:view (with --drive, "
        "robot:drive too), at most 24 h, NAME in its guest claim",
    )
    parser.add_argument(
        "--drive", action="store_true", help="with --guest: the guest may drive, too"
    )
    parser.add_argument(
        "--scope",
        action="append",
        choices=("robot:drive", "robot:admin"),
        help="repeat for several (default: robot:drive)",
    )
    parser.add_argument(
        "--robot",
        action="append",
        metavar="NAME",
        help="limit the token to this robot; repeat for several (default: any)",
    )
    parser.add_argument(
        "--ttl",
        default="1h",
        help="lifetime: 30s, 15m, 1h, 7d (default 1h; a guest's: 24h at most)",
    )
    parser.add_argument(
        "--secret-id",
        default=os.environ.get("JWT_PRIVATE_KEY_SECRET_ID"),
        help="Secrets Manager secret holding the private key (PEM)",
    )
    parser.add_argument(
        "--key",
        type=Path,
        default=os.environ.get("JWT_PRIVATE_KEY_FILE"),
        help="local PEM file holding the private key",
    )
    parser.add_argument(
        "--alg",
        choices=("ES256", "RS256", "RS512"),
        help="default: ES256 for an EC key, RS256 for an RSA key",
    )
    parser.add_argument("--issuer", default=os.environ.get("JWT_ISSUER"))
    parser.add_argument("--audience", default=os.environ.get("JWT_AUDIENCE"))
    parser.add_argument("--region", help="AWS region for --secret-id (default: your AWS config)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if bool(args.secret_id) == bool(args.key):
        return error("token", "give the private key by exactly one of --secret-id and --key", USAGE)
    if args.guest is not None and len(args.robot or ()) != 1:
        return error("token", "a guest link is for exactly one --robot", USAGE)
    if args.drive and args.guest is None:
        return error("token", "--drive belongs to --guest (give others --scope)", USAGE)
    try:
        from robot.contracts import tokens

        if args.secret_id:
            import boto3
    except ModuleNotFoundError as exc:
        return missing_extra("token", "cloud", exc)
    try:
        if args.secret_id:
            client = boto3.client("secretsmanager", region_name=args.region)
            pem = tokens.read_secret(client, args.secret_id)
        else:
            pem = Path(args.key).read_text()
        key, ttl = tokens.load_private_key(pem), tokens.parse_ttl(args.ttl)
        issuer = args.issuer or tokens.DEFAULT_ISSUER
        audience = args.audience or tokens.DEFAULT_AUDIENCE
        if args.guest is not None:
            token = tokens.mint_guest(
                key,
                args.guest,
                args.robot[0],
                ttl,
                drive=args.drive,
                issuer=issuer,
                audience=audience,
                algorithm=args.alg,
            ).token
        else:
            token = tokens.mint(
                key,
                args.subject,
                args.scope or ["robot:drive"],
                ttl,
                robots=args.robot,
                algorithm=args.alg,
                issuer=issuer,
                audience=audience,
            )
    except (OSError, ValueError, TypeError) as exc:
        return error("token", exc)
    print(token)
    return OK
