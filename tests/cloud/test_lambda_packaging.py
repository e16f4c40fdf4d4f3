"""The folders `sam build` zips: each holds exactly its Lambda's modules (the protocol from its
one source file) and its handler runs in a clean interpreter that sees only that folder and
what the Lambda runtime provides."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from robot.contracts import tokens
from tests.cloud.conftest import ARN_PREFIX, AUDIENCE, ISSUER

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "deploy" / "lambda" / "package.py"
# What the Lambda Python runtime brings: boto3 and its dependencies.
RUNTIME_LIBRARIES = ("boto3", "botocore", "jmespath", "s3transfer", "dateutil", "urllib3", "six")
# What the authorizer's folder gets from pip in a real build (tests link the local copies).
AUTHORIZER_LIBRARIES = ("jwt", "cryptography", "cffi", "_cffi_backend", "pycparser")


def build(function: str, out: Path) -> Path:
    subprocess.run(
        [sys.executable, str(PACKAGE), function, str(out), "--no-requirements"], check=True
    )
    return out


def library_dir(tmp: Path, names: tuple[str, ...]) -> Path:
    """A folder linking just the named top-level modules of this environment."""
    folder = tmp / "libraries"
    folder.mkdir(exist_ok=True)
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is None:
            continue
        origin = Path(spec.origin)
        source = origin.parent if spec.submodule_search_locations else origin
        (folder / source.name).symlink_to(source)
    return folder


CHILD = """
import importlib, importlib.util, json, sys
artifact, libraries, module, event = sys.argv[1:5]
sys.path[:0] = [artifact, libraries]
handler = importlib.import_module(module).handler
result = handler(json.loads(event), None)
print(json.dumps({
    "result": result,
    "modules": {m.__name__: getattr(m, "__file__", None) for m in list(sys.modules.values())
                if m.__name__.split(".")[0] in ("cloud", "robot", "drivers", "sim", "jwt")},
    "path": sys.path,
}))
"""


def invoke(artifact: Path, libraries: Path, module: str, event: dict, env: dict) -> dict:
    """Run ``module.handler(event)`` in ``python -I -S``: no site-packages, no project."""
    clean_env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "eu-west-1",
        **env,
    }
    done = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            CHILD,
            str(artifact),
            str(libraries),
            module,
            json.dumps(event),
        ],
        capture_output=True,
        text=True,
        env=clean_env,
        cwd=artifact,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def fleet_request(scopes: str, **fields: str) -> dict:
    """A proxy event for robot r9's fleet route, as the authorizer lets it through."""
    authorizer = {"sub": "a", "scopes": scopes, "robots": "*"}
    return {
        "pathParameters": {"name": "r9"},
        "requestContext": {"authorizer": authorizer},
        **fields,
    }


def assert_loaded_from(artifact: Path, out: dict) -> None:
    """Every project module the handler imported came from its own folder."""
    for name, file in out["modules"].items():
        assert file.startswith(str(artifact)), (name, file)


def files_in(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_the_publish_folder_ships_the_one_protocol_module(tmp_path):
    artifact = build("publish", tmp_path / "publish")
    assert files_in(artifact) == {
        "cloud/__init__.py",
        "robot/__init__.py",
        "robot/contracts/__init__.py",
        "robot/contracts/access.py",
        "robot/contracts/refusals.py",
        "cloud/api.py",
        "cloud/publish/__init__.py",
        "cloud/publish/app.py",
        "robot/contracts/admission.py",
        "robot/contracts/protocol.py",
    }
    shipped = (artifact / "robot/contracts/protocol.py").read_bytes()
    assert shipped == (ROOT / "robot/contracts/protocol.py").read_bytes()
    # The real robot/__init__.py may grow imports of the daemon; the Lambda gets a bare one.
    assert (artifact / "robot/__init__.py").read_text() == ""


def test_the_publish_handler_runs_from_its_folder(tmp_path, loopback):
    artifact = build("publish", tmp_path / "publish")
    libraries = library_dir(tmp_path, RUNTIME_LIBRARIES)
    event = fleet_request("robot:drive", body='{"action": "left", "id": "pkg-1"}')
    out = invoke(
        artifact,
        libraries,
        "cloud.publish.app",
        event,
        {
            "AWS_ENDPOINT_URL_IOT_DATA_PLANE": loopback.url,
            "ROBOT_NAME": "r1",
            "FLEET_NAME_PREFIX": "r",
        },
    )
    assert out["result"]["statusCode"] == 200, out["result"]
    assert [r.path for r in loopback.requests] == ["/topics/r9%2Faction?qos=1"]
    sent = json.loads(loopback.requests[0].body)
    assert {key: sent[key] for key in ("action", "id", "operator")} == {
        "action": "left",
        "id": "pkg-1",
        "operator": "a",
    }
    assert isinstance(sent["received_ts"], int)
    assert_loaded_from(artifact, out)
    assert "jwt" not in out["modules"]


def test_the_authorizer_runs_from_its_folder(tmp_path, keys, make_token):
    artifact = build("authorizer", tmp_path / "authorizer")
    assert files_in(artifact) == {
        "cloud/__init__.py",
        "robot/__init__.py",
        "robot/contracts/__init__.py",
        "robot/contracts/access.py",
        "robot/contracts/refusals.py",
        "cloud/authorizer/__init__.py",
        "cloud/authorizer/app.py",
        "cloud/authorizer/policy.py",
        "robot/contracts/admission.py",
        "robot/contracts/protocol.py",
        "robot/contracts/verify.py",
    }
    libraries = library_dir(tmp_path, RUNTIME_LIBRARIES + AUTHORIZER_LIBRARIES)
    event = {
        "type": "TOKEN",
        "authorizationToken": "Bearer " + make_token(),
        "methodArn": ARN_PREFIX + "POST/publish",
    }
    env = {
        "JWT_ISSUER": ISSUER,
        "JWT_AUDIENCE": AUDIENCE,
        "ROBOT_NAME": "r1",
        "JWT_PUBLIC_KEY": tokens.public_key_line(tokens.public_pem(keys["ES256"])),
    }
    out = invoke(artifact, libraries, "cloud.authorizer.app", event, env)
    (statement,) = out["result"]["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow" and ARN_PREFIX + "POST/publish" in statement["Resource"]
    robot_modules = {name for name in out["modules"] if name.split(".")[0] == "robot"}
    assert all(
        name in ("robot", "robot.contracts") or name.startswith("robot.contracts.")
        for name in robot_modules
    )


def test_the_endpoints_resource_runs_from_its_folder(tmp_path, loopback):
    artifact = build("endpoints", tmp_path / "endpoints")
    libraries = library_dir(tmp_path, RUNTIME_LIBRARIES)
    loopback.reply = (200, {"endpointAddress": "abc-ats.iot.eu-west-1.amazonaws.com"})
    event = {
        "RequestType": "Create",
        "ResponseURL": loopback.url + "/cfn-response",
        "StackId": "stack",
        "RequestId": "req",
        "LogicalResourceId": "Endpoints",
    }
    invoke(
        artifact, libraries, "cloud.endpoints.app", event, {"AWS_ENDPOINT_URL_IOT": loopback.url}
    )
    *lookups, reply = loopback.requests
    assert len(lookups) == 2 and reply.method == "PUT" and reply.path == "/cfn-response"
    body = json.loads(reply.body)
    assert body["Status"] == "SUCCESS"
    assert set(body["Data"]) == {"DataEndpoint", "CredentialEndpoint"}


def test_the_viewer_runs_from_its_folder(tmp_path, loopback):
    artifact = build("viewer", tmp_path / "viewer")
    assert files_in(artifact) == {
        "cloud/__init__.py",
        "robot/__init__.py",
        "robot/contracts/__init__.py",
        "robot/contracts/access.py",
        "robot/contracts/refusals.py",
        "cloud/api.py",
        "cloud/viewer/__init__.py",
        "cloud/viewer/app.py",
        "cloud/viewer/slots.py",
    }
    libraries = library_dir(tmp_path, RUNTIME_LIBRARIES)
    arn = "arn:aws:kinesisvideo:eu-west-1:123456789012:channel/r9/1"
    # One answer serves the three KVS calls: each reads only its own fields.
    loopback.reply = (
        200,
        {
            "ChannelInfo": {"ChannelARN": arn, "ChannelName": "r9"},
            "ResourceEndpointList": [
                {"Protocol": "WSS", "ResourceEndpoint": "wss://v.example"},
                {"Protocol": "HTTPS", "ResourceEndpoint": loopback.url},
            ],
            "IceServerList": [{"Uris": ["turn:t.example"], "Username": "u", "Password": "p"}],
        },
    )
    event = fleet_request("robot:view")
    out = invoke(
        artifact,
        libraries,
        "cloud.viewer.app",
        event,
        {
            "AWS_ENDPOINT_URL_KINESIS_VIDEO": loopback.url,
            "AWS_ENDPOINT_URL_DYNAMODB": loopback.url,
            "ROBOT_NAME": "r1",
            "VIEWER_SLOTS_TABLE": "slots",
        },
    )
    assert out["result"]["statusCode"] == 200, out["result"]
    body = json.loads(out["result"]["body"])
    assert body["channelArn"] == arn and body["signalingUrl"].startswith("wss://v.example/?")
    assert body["iceServers"] == [
        {"urls": "stun:stun.kinesisvideo.eu-west-1.amazonaws.com:443"},
        {"urls": ["turn:t.example"], "username": "u", "credential": "p"},
    ]
    assert [r.path for r in loopback.requests] == [
        "/",  # its slot in the table of URLs per subject
        "/describeSignalingChannel",
        "/getSignalingChannelEndpoint",
        "/v1/get-ice-server-config",
    ]
    assert loopback.requests[0].headers["X-Amz-Target"] == "DynamoDB_20120810.PutItem"
    assert_loaded_from(artifact, out)


def test_the_guest_lambda_runs_from_its_folder_and_reads_its_key_from_secrets_manager(
    tmp_path, loopback, keys
):
    artifact = build("guests", tmp_path / "guests")
    assert files_in(artifact) == {
        "cloud/__init__.py",
        "robot/__init__.py",
        "robot/contracts/__init__.py",
        "robot/contracts/access.py",
        "robot/contracts/refusals.py",
        "robot/contracts/tokens.py",
        "cloud/api.py",
        "cloud/guests/__init__.py",
        "cloud/guests/app.py",
    }
    libraries = library_dir(tmp_path, RUNTIME_LIBRARIES + AUTHORIZER_LIBRARIES)
    pem = tokens.private_pem(keys["ES256"])
    loopback.reply = (200, {"Name": "guest-key", "SecretString": pem, "ARN": "arn:x"})
    event = fleet_request("robot:admin", body=json.dumps({"name": "Ann"}))
    env = {
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": loopback.url,
        "GUEST_KEY_SECRET_ID": "guest-key",
        "ROBOT_NAME": "r1",
        "FLEET_NAME_PREFIX": "r",
        "JWT_ISSUER": ISSUER,
        "JWT_AUDIENCE": AUDIENCE,
        "CONSOLE_URL": "https://robots.example",
    }
    out = invoke(artifact, libraries, "cloud.guests.app", event, env)
    assert out["result"]["statusCode"] == 200, out["result"]
    body = json.loads(out["result"]["body"])
    assert body["url"] == f"https://robots.example/#token={body['token']}"
    [request] = loopback.requests
    assert request.headers["X-Amz-Target"] == "secretsmanager.GetSecretValue"
    assert json.loads(request.body) == {"SecretId": "guest-key"}
    ours = {name: file for name, file in out["modules"].items() if not name.startswith("jwt")}
    assert_loaded_from(artifact, {"modules": ours})  # PyJWT: from pip, in a real build


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_the_makefile_target_sam_runs_builds_the_same_folder(tmp_path):
    # sam build runs `make build-<LogicalId>` from the project root with ARTIFACTS_DIR set.
    out = tmp_path / "PublishFunction"
    subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-f",
            "deploy/lambda/Makefile",
            "build-PublishFunction",
            f"ARTIFACTS_DIR={out}",
            f"PYTHON={sys.executable}",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    assert files_in(out) == files_in(build("publish", tmp_path / "direct"))


def test_the_console_runs_from_its_folder_with_the_pages_beside_it(tmp_path):
    artifact = build("site", tmp_path / "site")
    pages = {f"cloud/console/{page.name}" for page in (ROOT / "cloud/console").iterdir()}
    assert files_in(artifact) == {
        "cloud/__init__.py",
        "cloud/site/__init__.py",
        "cloud/site/app.py",
        *pages,
    }
    event = {"path": "/main.js", "requestContext": {"path": "/prod/main.js", "stage": "prod"}}
    out = invoke(artifact, tmp_path, "cloud.site.app", event, {})
    assert out["result"]["statusCode"] == 200
    assert out["result"]["body"] == (ROOT / "cloud/console/main.js").read_text()
    assert_loaded_from(artifact, out)
    config = {
        "path": "/console/config.json",
        "requestContext": {
            "domainName": "abc.execute-api.eu-west-1.amazonaws.com",
            "stage": "prod",
        },
    }
    environ = {"OIDC_ISSUER": "https://idp.example", "OIDC_CLIENT_ID": "console"}
    out = invoke(artifact, tmp_path, "cloud.site.app", config, environ)
    assert json.loads(out["result"]["body"]) == {
        "api": "https://abc.execute-api.eu-west-1.amazonaws.com/prod",
        "oidc": {
            "issuer": "https://idp.example",
            "client_id": "console",
            "scopes": "openid robot:view robot:drive",
        },
    }
