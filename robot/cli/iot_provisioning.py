"""Provision a robot in one step: certificate, policies, thing, endpoints, config.json.

This replaces the AWS sample's console steps (create a certificate, activate it, download
it, attach two policies and the thing, copy endpoints into config.json by hand).
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from robot.contracts.admission import UnscopedTokens
from robot.daemon.config import DEFAULTS as config_defaults
from robot.posix import files

log = logging.getLogger(__name__)

# Where the files go, relative to the output folder: where the robot looks by default.
CERTIFICATE = config_defaults["CERTIFICATE_PATH"]
PRIVATE_KEY = config_defaults["PRIVATE_KEY_PATH"]
ROOT_CA = config_defaults["ROOT_CA_PATH"]
ROOT_CA_URL = "https://www.amazontrust.com/repository/AmazonRootCA1.pem"

# Stack outputs (deploy/template.yaml) that provisioning reads.
STACK_OUTPUTS = {
    "robot_policy": "RobotPolicyName",
    "role_alias_policy": "RoleAliasPolicyName",
    "role_alias": "RoleAlias",
}


class ProvisionError(Exception):
    pass


@dataclass(frozen=True)
class StackNames:
    """What the deployed stack is called in IoT Core."""

    robot_policy: str
    role_alias_policy: str
    role_alias: str
    stack_robot: str = ""  # the stack's own robot (its ThingName output); "": no stack read
    fleet_tokens: bool = False  # the stack's FleetTokens parameter

    def unscoped_tokens(self, thing: str) -> UnscopedTokens | None:
        """The robot's ``UNSCOPED_TOKENS``, as the stack's authorizer rules (None: unknown,
        no stack was read): a token without a ``robots`` claim reaches the stack's own robot,
        and the others only with ``FleetTokens=true``."""
        if not self.stack_robot:
            return None
        if self.fleet_tokens or thing == self.stack_robot:
            return UnscopedTokens.ACCEPTED
        return UnscopedTokens.REFUSED


@dataclass
class Provisioned:
    thing: str
    certificate_arn: str
    config_path: Path
    config: dict[str, Any]
    root_ca_missing: bool
    created_thing: bool = False
    retired_certificate_arn: str | None = None  # the certificate --rotate deleted
    notes: list[str] = field(default_factory=list)


def names_from_stack(cloudformation: Any, stack: str) -> StackNames:
    """The policy and role-alias names from a deployed stack's outputs."""
    try:
        described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    except Exception as exc:
        raise ProvisionError(f"cannot read stack {stack!r}: {exc}") from None
    outputs = {item["OutputKey"]: item["OutputValue"] for item in described.get("Outputs", [])}
    missing = [key for key in STACK_OUTPUTS.values() if key not in outputs]
    if missing:
        raise ProvisionError(
            f"stack {stack!r} has no output(s) {', '.join(missing)}; "
            "is it deployed from deploy/template.yaml?"
        )
    parameters = {
        item["ParameterKey"]: item.get("ParameterValue", "")
        for item in described.get("Parameters", [])
    }
    return StackNames(
        **{attr: outputs[key] for attr, key in STACK_OUTPUTS.items()},
        stack_robot=outputs.get("ThingName", ""),
        fleet_tokens=parameters.get("FleetTokens", "false") == "true",
    )


def provision(
    iot: Any,
    thing: str,
    names: StackNames,
    out_dir: Path,
    region: str,
    root_ca: Path | None = None,
    force: bool = False,
    rotate: bool = False,
) -> Provisioned:
    """Create and wire a certificate for ``thing`` and write everything the robot needs
    into ``out_dir``. If a step in AWS fails, what was created is undone.

    ``rotate`` replaces the certificate in ``out_dir``: once the new one is written, the old
    one is deactivated, detached from its policies and the thing, and deleted, so a leaked
    key stops working."""
    certificate_path, key_path = out_dir / CERTIFICATE, out_dir / PRIVATE_KEY
    existing = [str(path) for path in (certificate_path, key_path) if path.exists()]
    if existing and not (force or rotate):
        raise ProvisionError(
            f"{', '.join(existing)} already exist(s): this robot has a "
            "certificate. Use --rotate to replace it and retire the old one in AWS."
        )
    old_arn = _attached_certificate(iot, thing, certificate_path) if rotate else None
    if root_ca is not None and not root_ca.is_file():
        raise ProvisionError(f"--root-ca {root_ca}: no such file")
    config_path = out_dir / "config.json"
    current = _read_config(config_path)  # before anything is created: fail early
    for policy in (names.robot_policy, names.role_alias_policy):
        _require_policy(iot, policy)

    created_thing = _ensure_thing(iot, thing)
    created = iot.create_keys_and_certificate(setAsActive=True)
    arn = created["certificateArn"]
    try:
        for policy in (names.robot_policy, names.role_alias_policy):
            iot.attach_policy(policyName=policy, target=arn)
        iot.attach_thing_principal(thingName=thing, principal=arn)
        data_endpoint = iot.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"]
        credential_endpoint = iot.describe_endpoint(endpointType="iot:CredentialProvider")[
            "endpointAddress"
        ]
    except Exception:
        _undo(iot, thing, arn, names, created_thing)
        raise

    files.write_private(key_path, created["keyPair"]["PrivateKey"], overwrite=force or rotate)
    files.write_atomic(certificate_path, created["certificatePem"])
    if root_ca is not None:
        shutil.copyfile(root_ca, out_dir / ROOT_CA)
    # Board settings of an existing config.json survive; the AWS keys are replaced.
    config = {
        **current,
        **{
            "IOT_THINGNAME": thing,
            "IOT_CORE_ENDPOINT": data_endpoint,
            "IOT_GET_CREDENTIAL_ENDPOINT": credential_endpoint,
            "ROLE_ALIAS": names.role_alias,
            "AWS_DEFAULT_REGION": region,
            "ROOT_CA_PATH": ROOT_CA,
            "CERTIFICATE_PATH": CERTIFICATE,
            "PRIVATE_KEY_PATH": PRIVATE_KEY,
        },
    }
    unscoped = names.unscoped_tokens(thing)
    if unscoped is not None:  # the data channel rules as the stack's authorizer does
        config["UNSCOPED_TOKENS"] = str(unscoped)
    files.write_atomic(config_path, json.dumps(config, indent=2) + "\n")
    if old_arn is not None:
        _retire(iot, thing, old_arn)
    return Provisioned(
        thing,
        arn,
        config_path,
        config,
        root_ca_missing=not (out_dir / ROOT_CA).is_file(),
        created_thing=created_thing,
        retired_certificate_arn=old_arn,
    )


def root_ca_instruction(out_dir: Path) -> str:
    """Where the Amazon root CA comes from: provisioning does not download it."""
    return (
        f"The robot also needs the Amazon root CA that signs the IoT Core endpoint, at "
        f"{out_dir / ROOT_CA}. Fetch it on a machine with internet access:\n"
        f"  curl -o {out_dir / ROOT_CA} {ROOT_CA_URL}\n"
        "(AWS lists it under 'CA certificates for server authentication' in the IoT Core "
        "developer guide), or pass --root-ca PATH to copy one you already have."
    )


def _attached_certificate(iot: Any, thing: str, certificate_path: Path) -> str:
    """The ARN of the certificate in ``certificate_path``, found among the thing's principals;
    ProvisionError (before anything changes) if it is not there."""
    try:
        pem = certificate_path.read_text().strip()
    except OSError as exc:
        raise ProvisionError(f"--rotate: cannot read {certificate_path}: {exc}") from None
    try:
        principals = iot.list_thing_principals(thingName=thing)["principals"]
    except iot.exceptions.ResourceNotFoundException:
        raise ProvisionError(f"--rotate: thing {thing!r} does not exist") from None
    for arn in principals:
        if ":cert/" not in arn:
            continue
        described = iot.describe_certificate(certificateId=_certificate_id(arn))
        if described["certificateDescription"]["certificatePem"].strip() == pem:
            return arn
    raise ProvisionError(
        f"--rotate: the certificate in {certificate_path} is not attached to thing {thing!r}; "
        "nothing was changed"
    )


def _retire(iot: Any, thing: str, arn: str) -> None:
    """Deactivate ``arn`` (it stops working at once), detach it, delete it."""
    certificate_id = _certificate_id(arn)
    iot.update_certificate(certificateId=certificate_id, newStatus="INACTIVE")
    for policy in iot.list_attached_policies(target=arn)["policies"]:
        iot.detach_policy(policyName=policy["policyName"], target=arn)
    iot.detach_thing_principal(thingName=thing, principal=arn)
    iot.delete_certificate(certificateId=certificate_id)


def _certificate_id(arn: str) -> str:
    return arn.rsplit("/", 1)[1]


def _require_policy(iot: Any, name: str) -> None:
    try:
        iot.get_policy(policyName=name)
    except iot.exceptions.ResourceNotFoundException:
        raise ProvisionError(
            f"IoT policy {name!r} does not exist: deploy the stack first "
            "(sam deploy), or check --stack / the policy names"
        ) from None


def _ensure_thing(iot: Any, thing: str) -> bool:
    """Create the thing unless it exists (the stack creates its own robot; more robots of a
    fleet are created here). Return True if it was created."""
    try:
        iot.describe_thing(thingName=thing)
        return False
    except iot.exceptions.ResourceNotFoundException:
        iot.create_thing(thingName=thing)
        return True


def _undo(iot: Any, thing: str, arn: str, names: StackNames, created_thing: bool) -> None:
    # Best effort: an active certificate nobody holds the key to must not be left behind.
    steps = [
        *(
            lambda p=policy: iot.detach_policy(policyName=p, target=arn)
            for policy in (names.robot_policy, names.role_alias_policy)
        ),
        lambda: iot.detach_thing_principal(thingName=thing, principal=arn),
        lambda: iot.update_certificate(certificateId=_certificate_id(arn), newStatus="INACTIVE"),
        lambda: iot.delete_certificate(certificateId=_certificate_id(arn), forceDelete=True),
    ]
    if created_thing:
        steps.append(lambda: iot.delete_thing(thingName=thing))
    for step in steps:
        try:
            step()
        except Exception as exc:  # keep undoing the rest
            log.debug("undo step failed: %s", exc)


def _read_config(path: Path) -> dict[str, Any]:
    try:
        current = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ProvisionError(
            f"{path} exists but cannot be read as JSON ({exc}); fix or move it"
        ) from None
    if not isinstance(current, dict):
        raise ProvisionError(f"{path} is not a JSON object; fix or move it")
    return current
