"""deploy/template.yaml: lints clean, transforms offline, and says what the code assumes."""

from __future__ import annotations

import copy
import importlib.metadata
import importlib.util
from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint_file
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from cloud.authorizer import policy
from cloud.viewer import slots
from robot.contracts import access, tokens, verify
from sim.aws import console_site, kvs_signaling

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "template.yaml"


def _package_module():
    path = ROOT / "deploy" / "lambda" / "package.py"
    spec = importlib.util.spec_from_file_location("lambda_package", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def source() -> dict:
    return yaml_parse(TEMPLATE.read_text())


@pytest.fixture(scope="module")
def transformed(source) -> dict:
    template = copy.deepcopy(source)
    # What `sam package` does: local code folders become S3 locations.
    template["Globals"]["Function"]["CodeUri"] = "s3://artifacts/code.zip"

    class NoManagedPolicies:
        def load(self) -> dict:
            return {}

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_DEFAULT_REGION", "eu-west-1")
        return transform(template, {"RobotName": "r1"}, NoManagedPolicies())


def resources_of(template: dict, kind: str) -> dict:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def test_cfn_lint_is_clean():
    matches = lint_file(TEMPLATE, config=ManualArgs(regions=["us-east-1", "eu-west-1"]))
    assert [str(match) for match in matches] == []


def test_the_sam_transform_succeeds_offline(transformed):
    kinds = {r["Type"] for r in transformed["Resources"].values()}
    assert {
        "AWS::ApiGateway::RestApi",
        "AWS::Lambda::Function",
        "AWS::IoT::Thing",
        "AWS::IoT::RoleAlias",
        "AWS::KinesisVideo::SignalingChannel",
    } <= kinds
    # Native resources where CloudFormation has them: the only custom one reads endpoints.
    assert [k for k in kinds if k.startswith("Custom::")] == ["Custom::IoTEndpoints"]


def test_functions_use_a_current_runtime_matching_the_packaging(transformed):
    package = _package_module()
    functions = resources_of(transformed, "AWS::Lambda::Function")
    assert len(functions) == 7
    for function in functions.values():
        assert function["Properties"]["Runtime"] == f"python{package.LAMBDA_PYTHON}"
        arch = function["Properties"]["Architectures"]
        assert arch == ["arm64"] and package.LAMBDA_PLATFORM.endswith("aarch64")


def test_every_route_needs_the_jwt_authorizer_except_the_preflight_and_the_console(transformed):
    body = transformed["Resources"]["RobotApi"]["Properties"]["Body"]
    console = {
        route.split(" ", 1)[1]: body["paths"].pop(route.split(" ", 1)[1])
        for route in console_site.ROUTES
    }
    for path, methods in console.items():  # the page itself: it signs in, then calls the API
        assert methods["get"]["security"] == [{"NONE": []}], path  # SAM's "no authorizer"
        assert set(methods) == {"get", "options"}
    integration = console["/{file+}"]["get"]["x-amazon-apigateway-integration"]["uri"]
    assert "ConsoleFunction" in str(integration)
    assert set(body["paths"]) == {"/" + path for _, path, _, _ in policy.ROUTES}
    for path, methods in body["paths"].items():
        assert set(methods) == {"options"} | {
            m.lower() for m, p, _, _ in policy.ROUTES if "/" + p == path
        }
        for method, operation in methods.items():
            if method == "options":
                assert "security" not in operation
                headers = operation["x-amazon-apigateway-integration"]["responses"]["default"][
                    "responseParameters"
                ]
                allowed = headers["method.response.header.Access-Control-Allow-Headers"]
                assert "Authorization" in allowed
            else:
                assert operation["security"] == [{"JwtAuthorizer": []}]
    scheme = body["components"]["securitySchemes"]["JwtAuthorizer"]
    authorizer = scheme["x-amazon-apigateway-authorizer"]
    assert authorizer["type"] == "token" and scheme["name"] == "Authorization"
    assert authorizer["identityValidationExpression"] == verify.VALIDATION_EXPRESSION
    assert authorizer["authorizerResultTtlInSeconds"] == 60


# Only a named CorsAllowOrigin appears in an Access-Control-Allow-Origin header; by default
# there is none: the console calls the API from the API's own origin.
NAMED_ORIGIN_ONLY = {
    "Fn::If": ["HasCorsOrigin", {"Fn::Sub": "'${CorsAllowOrigin}'"}, {"Ref": "AWS::NoValue"}]
}


def test_gateway_errors_carry_cors_headers(transformed):
    responses = transformed["Resources"]["RobotApi"]["Properties"]["Body"][
        "x-amazon-apigateway-gateway-responses"
    ]
    assert {"DEFAULT_4XX", "DEFAULT_5XX", "UNAUTHORIZED"} <= set(responses)
    for response in responses.values():
        headers = response["responseParameters"]
        assert headers["gatewayresponse.header.Access-Control-Allow-Origin"] == NAMED_ORIGIN_ONLY
        assert "Authorization" in headers["gatewayresponse.header.Access-Control-Allow-Headers"]


def test_cors_defaults_to_the_consoles_origin(source, transformed):
    assert source["Parameters"]["CorsAllowOrigin"]["Default"] == ""
    body = transformed["Resources"]["RobotApi"]["Properties"]["Body"]
    for path, methods in body["paths"].items():
        preflight = methods["options"]["x-amazon-apigateway-integration"]["responses"]["default"]
        origin = preflight["responseParameters"][
            "method.response.header.Access-Control-Allow-Origin"
        ]
        assert origin == NAMED_ORIGIN_ONLY, path
    functions = resources_of(transformed, "AWS::Lambda::Function")
    named = [
        f["Properties"]["Environment"]["Variables"]["CORS_ALLOW_ORIGIN"]
        for f in functions.values()
        if "CORS_ALLOW_ORIGIN" in f["Properties"].get("Environment", {}).get("Variables", {})
    ]
    assert named and all(value == {"Ref": "CorsAllowOrigin"} for value in named)


def test_the_stage_is_throttled_as_the_parameters_size_it(source, transformed):
    (stage,) = resources_of(transformed, "AWS::ApiGateway::Stage").values()
    (setting,) = stage["Properties"]["MethodSettings"]
    assert setting["ThrottlingRateLimit"] == {"Ref": "StageRateLimit"}
    assert setting["ThrottlingBurstLimit"] == {"Ref": "StageBurstLimit"}
    parameters = source["Parameters"]
    # Room for a fleet: 25 consoles driving over /publish at 4 a second each.
    assert parameters["StageRateLimit"]["Default"] >= 25 * 4
    assert parameters["StageBurstLimit"]["Default"] >= parameters["StageRateLimit"]["Default"]


def test_a_per_client_rate_rule_guards_the_stage_when_asked_for(source, transformed):
    assert source["Parameters"]["ClientRateLimit"]["Default"] == 0  # WAF costs: opt in
    assert source["Conditions"]["HasClientRateLimit"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ClientRateLimit"}, 0]}]
    }
    (acl,) = resources_of(transformed, "AWS::WAFv2::WebACL").values()
    (association,) = resources_of(transformed, "AWS::WAFv2::WebACLAssociation").values()
    assert acl["Condition"] == association["Condition"] == "HasClientRateLimit"
    properties = acl["Properties"]
    assert properties["Scope"] == "REGIONAL" and properties["DefaultAction"] == {"Allow": {}}
    (rule,) = properties["Rules"]
    rate = rule["Statement"]["RateBasedStatement"]
    assert rate == {
        "AggregateKeyType": "IP",
        "EvaluationWindowSec": 300,
        "Limit": {"Ref": "ClientRateLimit"},
    }
    assert rule["Action"] == {"Block": {"CustomResponse": {"ResponseCode": 429}}}
    arn = association["Properties"]["ResourceArn"]["Fn::Sub"]
    assert arn.endswith("/restapis/${RobotApi}/stages/${RobotApiprodStage}"), arn
    (stage_name,) = resources_of(transformed, "AWS::ApiGateway::Stage")
    assert stage_name == "RobotApiprodStage"


def _inline_statements(role: dict) -> list[dict]:
    return [
        s for p in role["Properties"].get("Policies", []) for s in p["PolicyDocument"]["Statement"]
    ]


def test_the_publish_lambda_may_only_publish_to_its_fleets_action_topics(transformed):
    role = transformed["Resources"]["PublishFunctionRole"]
    topics = "arn:${AWS::Partition}:iot:${AWS::Region}:${AWS::AccountId}:topic/"
    assert _inline_statements(role) == [
        {
            "Effect": "Allow",
            "Action": "iot:Publish",
            "Resource": [
                {"Fn::Sub": topics + "${RobotName}/action"},
                {
                    "Fn::If": [
                        "HasFleetPrefix",
                        {"Fn::Sub": topics + "${FleetNamePrefix}*/action"},
                        {"Ref": "AWS::NoValue"},
                    ]
                },
            ],
        }
    ]
    assert transformed["Conditions"]["HasFleetPrefix"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "FleetNamePrefix"}, ""]}]
    }
    env = transformed["Resources"]["PublishFunction"]["Properties"]["Environment"]["Variables"]
    assert env["FLEET_NAME_PREFIX"] == {"Ref": "FleetNamePrefix"}
    # The data endpoint comes from the stack, not from a lookup per request.
    assert env["AWS_ENDPOINT_URL_IOT_DATA_PLANE"] == {
        "Fn::Sub": "https://${Endpoints.DataEndpoint}"
    }


def test_the_viewer_lambda_may_join_its_fleets_channels_as_a_viewer_only(transformed):
    role = transformed["Resources"]["ViewerFunctionRole"]
    table, statement = _inline_statements(role)
    # Besides its channels, it may only write its table of URLs per subject.
    assert table == {
        "Effect": "Allow",
        "Action": "dynamodb:PutItem",
        "Resource": {"Fn::GetAtt": ["ViewerSlotsTable", "Arn"]},
    }
    assert set(statement["Action"]) == kvs_signaling.VIEWER_ACTIONS
    channels = "arn:${AWS::Partition}:kinesisvideo:${AWS::Region}:${AWS::AccountId}:channel/"
    assert statement["Resource"] == [
        {"Fn::Sub": channels + "${RobotName}/*"},
        {
            "Fn::If": [
                "HasFleetPrefix",
                {"Fn::Sub": channels + "${FleetNamePrefix}*/*"},
                {"Ref": "AWS::NoValue"},
            ]
        },
    ]
    env = transformed["Resources"]["ViewerFunction"]["Properties"]["Environment"]["Variables"]
    assert set(env) == {"ROBOT_NAME", "CORS_ALLOW_ORIGIN", "VIEWER_SLOTS_TABLE"}
    assert env["VIEWER_SLOTS_TABLE"] == {"Ref": "ViewerSlotsTable"}


def test_the_viewer_slots_table_is_the_one_the_simulator_stands_in_for(source):
    """The key and TTL attribute that cloud/viewer/slots.py writes (the simulator's table
    is made from the same)."""
    table = source["Resources"]["ViewerSlotsTable"]["Properties"]
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    key = tuple((k["AttributeName"], types[k["AttributeName"]]) for k in table["KeySchema"])
    assert key == slots.KEY
    assert [k["KeyType"] for k in table["KeySchema"]] == ["HASH", "RANGE"]
    assert table["TimeToLiveSpecification"] == {
        "AttributeName": slots.TTL_ATTRIBUTE,
        "Enabled": True,
    }
    assert table["BillingMode"] == "PAY_PER_REQUEST"


def test_every_function_has_a_build_target_and_a_package(source):
    makefile = (ROOT / "deploy" / "lambda" / "Makefile").read_text()
    package = _package_module()
    for name, resource in resources_of(source, "AWS::Serverless::Function").items():
        assert f"build-{name}:" in makefile
        module = resource["Properties"]["Handler"].rsplit(".", 1)[0]
        assert module.split(".")[1] in package.FUNCTIONS


@pytest.mark.parametrize(
    ("function", "condition", "parameter"),
    [
        ("AuthorizerFunction", "KeyInSecret", "JwtPublicKeySecretId"),
        ("GuestsFunction", "HasGuestKey", "GuestKeySecretId"),
    ],
)
def test_a_function_reads_its_one_secret_only_when_one_is_named(
    transformed, function, condition, parameter
):
    role = transformed["Resources"][f"{function}Role"]
    (conditional,) = role["Properties"]["Policies"]
    named, when_set, when_not = conditional["Fn::If"]
    assert named == condition and when_not == {"Ref": "AWS::NoValue"}
    (statement,) = when_set["PolicyDocument"]["Statement"]
    assert statement["Action"] == "secretsmanager:GetSecretValue"
    assert statement["Resource"]["Fn::Sub"].endswith(f":secret:${{{parameter}}}-??????")


def test_the_guest_lambda_signs_for_the_authorizers_issuer_and_audience(transformed):
    env = transformed["Resources"]["GuestsFunction"]["Properties"]["Environment"]["Variables"]
    assert env["JWT_ISSUER"] == {"Ref": "JwtIssuer"}
    assert env["JWT_AUDIENCE"] == {"Ref": "JwtAudience"}
    assert env["GUEST_KEY_SECRET_ID"] == {"Ref": "GuestKeySecretId"}


def test_the_authorizer_has_the_settings_it_reads(transformed):
    env = transformed["Resources"]["AuthorizerFunction"]["Properties"]["Environment"]["Variables"]
    assert set(env) == {
        "JWT_ISSUER",
        "JWT_AUDIENCE",
        "JWKS_URL",
        "JWT_PUBLIC_KEY",
        "JWT_PUBLIC_KEY_SECRET_ID",
        "ROBOT_NAME",
        "FLEET_TOKENS",
    }
    assert env["FLEET_TOKENS"] == {"Ref": "FleetTokens"}


def test_fleet_wide_tokens_are_opt_in(source):
    parameter = source["Parameters"]["FleetTokens"]
    assert parameter["Default"] == "false" and parameter["AllowedValues"] == ["true", "false"]
    prefix = source["Parameters"]["FleetNamePrefix"]
    assert prefix["Default"] == "" and "*" not in prefix["AllowedPattern"]


def test_every_function_logs_to_a_group_with_a_retention(transformed):
    functions = resources_of(transformed, "AWS::Lambda::Function")
    groups = resources_of(transformed, "AWS::Logs::LogGroup").values()
    named = {g["Properties"]["LogGroupName"]["Fn::Sub"]: g["Properties"] for g in groups}
    assert set(named) == {f"/aws/lambda/${{{name}}}" for name in functions}
    assert all(p["RetentionInDays"] == {"Ref": "LogRetentionDays"} for p in named.values())


def test_the_robot_policy_is_least_privilege(source):
    statements = source["Resources"]["RobotPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    by_action = {
        s["Action"]: s["Resource"]["Fn::Sub"].split("${AWS::AccountId}:")[1] for s in statements
    }
    thing = "${!iot:Connection.Thing.ThingName}"
    assert by_action == {
        "iot:Connect": f"client/{thing}",
        "iot:Subscribe": f"topicfilter/{thing}/action",
        "iot:Receive": f"topic/{thing}/action",
        "iot:Publish": f"topic/{thing}/telemetry",
    }
    assert all(s["Effect"] == "Allow" for s in statements)
    connect = next(s for s in statements if s["Action"] == "iot:Connect")
    assert connect["Condition"] == {"Bool": {"iot:Connection.Thing.IsAttached": "true"}}


def test_the_camera_role_reaches_only_the_things_own_channel(source):
    resources = source["Resources"]
    trust = resources["CameraRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "credentials.iot.amazonaws.com"},
            "Action": "sts:AssumeRole",
            # No confused deputy: only for this account's own role alias.
            "Condition": {
                "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                "ArnLike": {
                    "aws:SourceArn": {
                        "Fn::Sub": "arn:${AWS::Partition}:iot:${AWS::Region}:${AWS::AccountId}"
                        ":rolealias/${RobotName}-camera"
                    }
                },
            },
        }
    ]
    alias = resources["CameraRoleAlias"]["Properties"]["RoleAlias"]
    assert alias == {"Fn::Sub": "${RobotName}-camera"}
    (statement,) = _inline_statements(resources["CameraRole"])
    assert statement["Resource"]["Fn::Sub"].endswith(":channel/${!credentials-iot:ThingName}/*")
    # The local signaling service grants the robot's credentials exactly this.
    assert set(statement["Action"]) == kvs_signaling.MASTER_ACTIONS
    assert {a.split(":")[0] for a in statement["Action"]} == {"kinesisvideo"}
    alias_policy = resources["RoleAliasPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert alias_policy == [
        {
            "Effect": "Allow",
            "Action": "iot:AssumeRoleWithCertificate",
            "Resource": {"Fn::GetAtt": ["CameraRoleAlias", "RoleAliasArn"]},
        }
    ]
    assert resources["SignalingChannel"]["Properties"]["Name"] == {"Ref": "RobotName"}


def test_outputs_name_everything_provisioning_and_config_need(source):
    from robot.cli import iot_provisioning as provision

    outputs = source["Outputs"]
    assert {
        "ApiURL",
        "EndpointUrl",
        "DataEndpoint",
        "RoleAlias",
        "ThingName",
        "Region",
        *provision.STACK_OUTPUTS.values(),
    } <= set(outputs)


def test_template_defaults_match_the_token_tools(source):
    parameters = source["Parameters"]
    assert parameters["JwtIssuer"]["Default"] == tokens.DEFAULT_ISSUER
    assert parameters["JwtAudience"]["Default"] == tokens.DEFAULT_AUDIENCE
    name_pattern = parameters["RobotName"]["AllowedPattern"]
    assert name_pattern == f"^{access.ROBOT_NAME_RE.pattern}$"


def test_pyjwt_is_pinned_past_cve_2024_53861():
    import tomllib

    from packaging.version import Version

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (pin,) = [r for r in extras["optional-dependencies"]["cloud"] if r.startswith("PyJWT")]
    assert pin.endswith(">=2.10.1")
    assert Version(importlib.metadata.version("PyJWT")) >= Version("2.10.1")
