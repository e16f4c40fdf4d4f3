"""`robot provision` against moto's IoT and CloudFormation, and the endpoints resource."""

from __future__ import annotations

import argparse
import json
import stat

import boto3
import pytest
from botocore.stub import Stubber

from cloud.endpoints import app as endpoints
from robot.cli import iot_provisioning as provision
from robot.cli import provision as provision_command
from robot.daemon import config

NAMES = provision.StackNames("r1-robot", "r1-camera-role-alias", "r1-camera")
POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}],
    }
)


@pytest.fixture
def iot(aws):
    client = boto3.client("iot")
    for name in (NAMES.robot_policy, NAMES.role_alias_policy):
        client.create_policy(policyName=name, policyDocument=POLICY)
    return client


@pytest.fixture
def root_ca(tmp_path):
    path = tmp_path / "AmazonRootCA1.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\nstand-in\n-----END CERTIFICATE-----\n")
    return path


def test_provision_wires_certificate_policies_thing_and_config(iot, tmp_path, root_ca):
    out = tmp_path / "robot"
    done = provision.provision(iot, "r1", NAMES, out, "eu-west-1", root_ca)

    assert done.created_thing
    assert iot.list_thing_principals(thingName="r1")["principals"] == [done.certificate_arn]
    attached = iot.list_attached_policies(target=done.certificate_arn)["policies"]
    assert {p["policyName"] for p in attached} == {NAMES.robot_policy, NAMES.role_alias_policy}
    certificate_id = done.certificate_arn.rsplit("/", 1)[1]
    described = iot.describe_certificate(certificateId=certificate_id)["certificateDescription"]
    assert described["status"] == "ACTIVE"

    written = json.loads((out / "config.json").read_text())
    assert written["IOT_THINGNAME"] == "r1" and written["ROLE_ALIAS"] == "r1-camera"
    assert written["AWS_DEFAULT_REGION"] == "eu-west-1"
    # moto makes up a new prefix per lookup; the kind of endpoint is what can be checked.
    assert written["IOT_CORE_ENDPOINT"].endswith("-ats.iot.eu-west-1.amazonaws.com")
    assert written["IOT_GET_CREDENTIAL_ENDPOINT"].endswith(
        ".credentials.iot.eu-west-1.amazonaws.com"
    )
    assert (out / provision.CERTIFICATE).read_text() == described["certificatePem"]
    assert stat.S_IMODE((out / provision.PRIVATE_KEY).stat().st_mode) == 0o600
    assert "PRIVATE KEY" in (out / provision.PRIVATE_KEY).read_text()
    assert not done.root_ca_missing

    # The robot's own config loader accepts the result as it is.
    loaded = config.load(out / "config.json", environ={}, check_board=False)
    assert loaded.thing_name == "r1" and loaded.private_key == (out / provision.PRIVATE_KEY)


def test_without_a_root_ca_it_says_where_to_get_one(iot, tmp_path):
    done = provision.provision(iot, "r1", NAMES, tmp_path, "eu-west-1")
    assert done.root_ca_missing
    text = provision.root_ca_instruction(tmp_path)
    assert provision.ROOT_CA_URL in text and str(tmp_path / provision.ROOT_CA) in text


def test_an_existing_thing_is_used_and_board_settings_survive(iot, tmp_path):
    iot.create_thing(thingName="r1")
    (tmp_path / "config.json").write_text(
        json.dumps({"MOTOR_DRIVER": "adafruit", "IOT_THINGNAME": "old"})
    )
    done = provision.provision(iot, "r1", NAMES, tmp_path, "eu-west-1")
    assert not done.created_thing
    written = json.loads((tmp_path / "config.json").read_text())
    assert written["MOTOR_DRIVER"] == "adafruit" and written["IOT_THINGNAME"] == "r1"


def test_an_existing_certificate_is_kept_unless_forced(iot, tmp_path):
    first = provision.provision(iot, "r1", NAMES, tmp_path, "eu-west-1")
    with pytest.raises(provision.ProvisionError, match="--rotate"):
        provision.provision(iot, "r1", NAMES, tmp_path, "eu-west-1")
    assert len(iot.list_certificates()["certificates"]) == 1  # nothing created on refusal
    second = provision.provision(iot, "r1", NAMES, tmp_path, "eu-west-1", force=True)
    assert second.certificate_arn != first.certificate_arn
    assert stat.S_IMODE((tmp_path / provision.PRIVATE_KEY).stat().st_mode) == 0o600


def test_rotate_retires_the_old_certificate_once_the_new_one_is_written(iot, tmp_path):
    first = provision.provision(iot, "r1", NAMES, tmp_path, "eu-west-1")
    old_id = first.certificate_arn.rsplit("/", 1)[1]
    order: list[str] = []
    original_write = provision.files.write_atomic

    def recording_write(path, text):
        order.append(f"write {path.name}")
        return original_write(path, text)

    calls = {"update_certificate", "detach_policy", "detach_thing_principal", "delete_certificate"}
    for name in calls:
        method = getattr(iot, name)
        setattr(iot, name, lambda *a, _m=method, _n=name, **k: order.append(_n) or _m(*a, **k))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(provision.files, "write_atomic", recording_write)
        second = provision.provision(iot, "r1", NAMES, tmp_path, "eu-west-1", rotate=True)

    assert second.retired_certificate_arn == first.certificate_arn
    assert order.index("write config.json") < order.index("update_certificate")
    assert order[-1] == "delete_certificate"
    assert order.index("update_certificate") < order.index("detach_thing_principal")
    # The old certificate is gone; the new one is the thing's only principal, with both policies.
    listed = [c["certificateId"] for c in iot.list_certificates()["certificates"]]
    assert old_id not in listed and len(listed) == 1
    assert iot.list_thing_principals(thingName="r1")["principals"] == [second.certificate_arn]
    attached = iot.list_attached_policies(target=second.certificate_arn)["policies"]
    assert {p["policyName"] for p in attached} == {NAMES.robot_policy, NAMES.role_alias_policy}
    described = iot.describe_certificate(certificateId=second.certificate_arn.rsplit("/", 1)[1])
    assert (tmp_path / provision.CERTIFICATE).read_text() == described["certificateDescription"][
        "certificatePem"
    ]


def test_rotate_changes_nothing_when_the_certificate_on_disk_is_not_the_things(iot, tmp_path):
    provision.provision(iot, "r1", NAMES, tmp_path, "eu-west-1")
    (tmp_path / provision.CERTIFICATE).write_text("-----BEGIN CERTIFICATE-----\nother\n")
    with pytest.raises(provision.ProvisionError, match="not attached to thing 'r1'"):
        provision.provision(iot, "r1", NAMES, tmp_path, "eu-west-1", rotate=True)
    assert len(iot.list_certificates()["certificates"]) == 1
    with pytest.raises(provision.ProvisionError, match="cannot read"):
        provision.provision(iot, "r1", NAMES, tmp_path / "empty", "eu-west-1", rotate=True)


def test_a_missing_policy_stops_before_anything_is_created(aws, tmp_path):
    client = boto3.client("iot")
    with pytest.raises(provision.ProvisionError, match="deploy the stack first"):
        provision.provision(client, "r1", NAMES, tmp_path, "eu-west-1")
    assert client.list_certificates()["certificates"] == []
    assert not (tmp_path / "config.json").exists()


def test_a_failure_half_way_undoes_what_was_created(iot, tmp_path, monkeypatch):
    def refuse(**kwargs):
        raise RuntimeError("throttled")

    monkeypatch.setattr(iot, "attach_thing_principal", refuse)
    with pytest.raises(RuntimeError):
        provision.provision(iot, "r1", NAMES, tmp_path, "eu-west-1")
    assert iot.list_certificates()["certificates"] == []
    assert iot.list_things()["things"] == []
    assert not (tmp_path / provision.PRIVATE_KEY).exists()


def test_names_come_from_the_stack_outputs():
    client = boto3.client("cloudformation", region_name="eu-west-1")
    outputs = [
        {"OutputKey": key, "OutputValue": value}
        for key, value in {
            "RobotPolicyName": NAMES.robot_policy,
            "RoleAliasPolicyName": NAMES.role_alias_policy,
            "RoleAlias": NAMES.role_alias,
            "ApiURL": "https://x",
        }.items()
    ]
    stack = {
        "StackName": "s",
        "CreationTime": "2024-01-01T00:00:00Z",
        "StackStatus": "CREATE_COMPLETE",
    }
    with Stubber(client) as stub:
        stub.add_response(
            "describe_stacks", {"Stacks": [{**stack, "Outputs": outputs}]}, {"StackName": "s"}
        )
        assert provision.names_from_stack(client, "s") == NAMES
        stub.add_response("describe_stacks", {"Stacks": [{**stack, "Outputs": outputs[:1]}]})
        with pytest.raises(provision.ProvisionError, match="RoleAliasPolicyName, RoleAlias"):
            provision.names_from_stack(client, "s")
        stub.add_client_error("describe_stacks", "ValidationError", "Stack does not exist")
        with pytest.raises(provision.ProvisionError, match="cannot read stack"):
            provision.names_from_stack(client, "s")


def described(fleet_tokens: str | None) -> dict:
    outputs = {
        "RobotPolicyName": NAMES.robot_policy,
        "RoleAliasPolicyName": NAMES.role_alias_policy,
        "RoleAlias": NAMES.role_alias,
        "ThingName": "r1",
    }
    stack = {
        "StackName": "s",
        "CreationTime": "2024-01-01T00:00:00Z",
        "StackStatus": "CREATE_COMPLETE",
        "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
    }
    if fleet_tokens is not None:
        stack["Parameters"] = [{"ParameterKey": "FleetTokens", "ParameterValue": fleet_tokens}]
    return {"Stacks": [stack]}


@pytest.mark.parametrize(
    ("fleet_tokens", "thing", "expected"),
    [
        ("false", "r1-2", "refused"),  # a fleet robot: claim-less tokens are the stack robot's
        ("false", "r1", "accepted"),  # the stack's own robot
        (None, "r1-2", "refused"),  # the parameter's default is false
        ("true", "r1-2", "accepted"),
        ("true", "r1", "accepted"),
    ],
)
def test_the_config_says_whether_claimless_tokens_reach_the_robot(
    iot, tmp_path, root_ca, fleet_tokens, thing, expected
):
    client = boto3.client("cloudformation", region_name="eu-west-1")
    with Stubber(client) as stub:
        stub.add_response("describe_stacks", described(fleet_tokens), {"StackName": "s"})
        names = provision.names_from_stack(client, "s")
    done = provision.provision(iot, thing, names, tmp_path / "robot", "eu-west-1", root_ca)
    assert json.loads(done.config_path.read_text())["UNSCOPED_TOKENS"] == expected
    loaded = config.load(done.config_path, environ={}, check_board=False)
    assert loaded.unscoped_tokens == expected


def test_without_a_stack_the_unscoped_rule_is_left_as_it_was(iot, tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"UNSCOPED_TOKENS": "refused"}))
    done = provision.provision(iot, "r2", NAMES, tmp_path, "eu-west-1")
    assert done.config["UNSCOPED_TOKENS"] == "refused"
    done = provision.provision(iot, "r3", NAMES, tmp_path / "b", "eu-west-1")
    assert "UNSCOPED_TOKENS" not in done.config  # the default, accepted


def test_the_command(iot, tmp_path, root_ca, capsys):
    parser = argparse.ArgumentParser()
    provision_command.register(parser.add_subparsers())
    names = [
        "--robot-policy",
        NAMES.robot_policy,
        "--role-alias-policy",
        NAMES.role_alias_policy,
        "--role-alias",
        NAMES.role_alias,
    ]
    args = parser.parse_args(
        ["provision", "--thing", "r1", *names, "--out", str(tmp_path), "--root-ca", str(root_ca)]
    )
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "Created thing r1" in printed and "curl" not in printed
    assert json.loads((tmp_path / "config.json").read_text())["ROLE_ALIAS"] == "r1-camera"

    args = parser.parse_args(["provision", "--thing", "r2", *names, "--out", str(tmp_path / "b")])
    assert args.func(args) == 0
    assert provision.ROOT_CA_URL in capsys.readouterr().out  # no --root-ca: how to get one
    args = parser.parse_args(["provision", "--thing", "r1", *names, "--out", str(tmp_path)])
    assert args.func(args) == 1  # already provisioned there
    args = parser.parse_args(["provision", "--thing", "r2", "--robot-policy", "x"])
    assert args.func(args) == 2
    args = parser.parse_args(["provision", "--thing", "r/2", "--stack", "robot-stack"])
    assert args.func(args) == 2


def test_the_endpoints_resource_reports_both_endpoints(aws):
    sent = []
    iot = boto3.client("iot")

    def respond(url: str, body: dict) -> None:
        sent.append((url, body))

    event = {
        "RequestType": "Create",
        "ResponseURL": "https://s3/presigned",
        "StackId": "s",
        "RequestId": "q",
        "LogicalResourceId": "Endpoints",
    }
    endpoints.handler(event, None, iot, respond)
    endpoints.handler(
        {**event, "RequestType": "Delete", "PhysicalResourceId": "iot-endpoints"},
        None,
        iot,
        respond,
    )
    (_, created), (_, deleted) = sent
    assert created["Status"] == "SUCCESS" and created["PhysicalResourceId"] == "iot-endpoints"
    assert created["Data"]["DataEndpoint"].endswith(".amazonaws.com")
    assert "-ats." in created["Data"]["DataEndpoint"]
    assert created["Data"]["CredentialEndpoint"] != created["Data"]["DataEndpoint"]
    assert deleted["Status"] == "SUCCESS" and deleted["Data"] == {}


def test_the_endpoints_resource_fails_loudly_not_silently():
    sent = []

    class Broken:
        def describe_endpoint(self, **kwargs):
            raise RuntimeError("AccessDenied")

    endpoints.handler(
        {
            "RequestType": "Update",
            "ResponseURL": "u",
            "StackId": "s",
            "RequestId": "q",
            "LogicalResourceId": "Endpoints",
            "PhysicalResourceId": "iot-endpoints",
        },
        None,
        Broken(),
        lambda url, body: sent.append(body),
    )
    assert sent[0]["Status"] == "FAILED" and "AccessDenied" in sent[0]["Reason"]
