"""``robot provision --thing NAME``: certificate, policies, endpoints and config.json at once."""

from __future__ import annotations

import argparse
from pathlib import Path

from robot.cli.policy import OK, USAGE, error, missing_extra


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "provision",
        help="create the robot's certificate and write config.json (AWS)",
        description="Create a certificate for the robot's IoT thing, attach the stack's robot "
        "policy, role-alias policy and the thing, look up the endpoints, and write "
        "certs/ and config.json. Names come from --stack, or from the three flags.",
    )
    parser.add_argument("--thing", required=True, help="the robot's thing name (RobotName)")
    parser.add_argument("--stack", help="the deployed stack whose outputs name the policies")
    parser.add_argument("--robot-policy", help="IoT policy for the robot (output RobotPolicyName)")
    parser.add_argument(
        "--role-alias-policy", help="IoT policy for the role alias (output RoleAliasPolicyName)"
    )
    parser.add_argument("--role-alias", help="the camera role alias (output RoleAlias)")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("."),
        help="folder for config.json and certs/ (default: here)",
    )
    parser.add_argument(
        "--root-ca",
        type=Path,
        help="the Amazon root CA (AmazonRootCA1.pem) to copy to certs/cacert.pem",
    )
    parser.add_argument("--region", help="AWS region (default: your AWS config)")
    replace = parser.add_mutually_exclusive_group()
    replace.add_argument(
        "--rotate",
        action="store_true",
        help="replace the certificate in --out with a new one, then deactivate, detach and "
        "delete the old one in AWS",
    )
    replace.add_argument(
        "--force",
        action="store_true",
        help="replace an existing certificate and key in --out, leaving the old one in AWS",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        import boto3
    except ModuleNotFoundError as exc:
        return missing_extra("provision", "cloud", exc)

    from robot.cli import iot_provisioning as provision
    from robot.contracts import access

    if not access.is_robot_name(args.thing):
        return error("provision", "--thing: 1 to 128 letters, digits, '-' or '_'", USAGE)
    session = boto3.session.Session(region_name=args.region)
    if not session.region_name:
        return error("provision", "no AWS region: pass --region or set AWS_DEFAULT_REGION", USAGE)
    flags = (args.robot_policy, args.role_alias_policy, args.role_alias)
    try:
        if all(flags):
            names = provision.StackNames(*flags)
        elif args.stack and not any(flags):
            names = provision.names_from_stack(session.client("cloudformation"), args.stack)
        else:
            return error(
                "provision",
                "give --stack, or all of --robot-policy, --role-alias-policy and --role-alias",
                USAGE,
            )
        done = provision.provision(
            session.client("iot"),
            args.thing,
            names,
            args.out,
            session.region_name,
            args.root_ca,
            args.force,
            args.rotate,
        )
    except provision.ProvisionError as exc:
        return error("provision", exc)
    print(
        f"{'Created' if done.created_thing else 'Using'} thing {done.thing}; "
        f"certificate {done.certificate_arn}"
    )
    if done.retired_certificate_arn:
        print(f"Retired the old certificate {done.retired_certificate_arn}")
    print(f"Wrote {done.config_path} and the certificate and key under {args.out / 'certs'}")
    if done.root_ca_missing:
        print(provision.root_ca_instruction(args.out))
    print(f"Next: robot check-config --config {done.config_path}, then robot run")
    return OK
