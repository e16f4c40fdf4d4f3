"""``robot keys init``: a key pair for operator tokens, and what the authorizer needs."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robot.cli.policy import OK, error, missing_extra
from robot.posix import files


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
        from robot.contracts import tokens  # noqa: F401 (PyJWT and cryptography: the cloud extra)

        if args.secret_id:
            import boto3
    except ModuleNotFoundError as exc:
        return missing_extra("keys", "cloud", exc)
    client = None
    if args.secret_id:
        client = boto3.client("secretsmanager", region_name=args.region)
    try:
        keys = init_keys(args.out, args.alg, args.secret_id, client)
    except FileExistsError as exc:
        return error("keys", exc)
    print(instructions(keys))
    return OK


@dataclass(frozen=True)
class NewKeys:
    public_pem: str
    public_path: Path
    private_path: Path | None  # None when the private key went to Secrets Manager
    secret_arn: str | None


def init_keys(
    out_dir: Path,
    algorithm: str = "ES256",
    secret_id: str | None = None,
    secrets_client: Any = None,
) -> NewKeys:
    """Make a key pair: the public key into ``out_dir``, the private key into Secrets
    Manager (``secret_id``) or, without one, into ``out_dir`` with mode 0600."""
    from robot.contracts import tokens  # PyJWT and cryptography: operators' tools only

    key = tokens.generate_private_key(algorithm)
    public_path = out_dir / "public.pem"
    private_path = None if secret_id else out_dir / "private.pem"
    for path in filter(None, (public_path, private_path)):
        if path.exists():
            raise FileExistsError(f"{path} exists; keep it, or move it away to make new keys")
    arn = None
    if secret_id:
        arn = secrets_client.create_secret(
            Name=secret_id,
            SecretString=tokens.private_pem(key),
            Description="Private key that signs telepresence-robot operator tokens",
        )["ARN"]
    else:
        files.write_private(private_path, tokens.private_pem(key))
        # Keys made inside a git checkout must not be committed by accident.
        (out_dir / ".gitignore").write_text("private.pem\n")
    out_dir.mkdir(parents=True, exist_ok=True)
    public_path.write_text(tokens.public_pem(key))
    return NewKeys(tokens.public_pem(key), public_path, private_path, arn)


def instructions(keys: NewKeys) -> str:
    """What to tell the person who ran ``robot keys init``."""
    from robot.contracts import tokens

    if keys.secret_arn:
        where = (
            f"Private key: in Secrets Manager. Mint tokens with\n  robot token "
            f"--secret-id {keys.secret_arn} --subject NAME --scope robot:drive --ttl 1h"
        )
    else:
        where = (
            f"Private key: {keys.private_path} (mode 0600; keep it off the robot). "
            f"Mint tokens with\n  robot token --key {keys.private_path} "
            "--subject NAME --scope robot:drive --ttl 1h"
        )
    return "\n".join(
        [
            f"Public key: {keys.public_path}",
            where,
            "",
            "The authorizer needs the public key. Deploy with:",
            "  sam deploy --parameter-overrides "
            f"JwtPublicKey={tokens.public_key_line(keys.public_pem)}",
            "or give the authorizer (or the simulator) the environment:",
            f"  JWT_ISSUER={tokens.DEFAULT_ISSUER}",
            f"  JWT_AUDIENCE={tokens.DEFAULT_AUDIENCE}",
            f'  JWT_PUBLIC_KEY="$(cat {keys.public_path})"',
        ]
    )
