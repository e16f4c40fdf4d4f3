"""CloudFormation custom resource: the account's IoT data and credentials-provider endpoints.

CloudFormation has no native resource for these, and the robot and the publish Lambda both
need them; the stack reads them once at deploy time instead of on every request.
"""

from __future__ import annotations

import functools
import json
import logging
import urllib.request
from collections.abc import Callable
from typing import Any

import boto3

log = logging.getLogger(__name__)
log.setLevel(logging.INFO)


@functools.cache
def _iot_client() -> Any:
    return boto3.client("iot")  # once per container, on first use


def handler(
    event: dict[str, Any],
    context: Any,
    iot: Any = None,
    respond: Callable[[str, dict[str, Any]], None] | None = None,
) -> None:
    """The custom resource; ``iot`` and ``respond`` stand in for AWS in tests."""
    status, data, reason = "SUCCESS", {}, ""
    try:
        if event.get("RequestType") in ("Create", "Update"):
            data = describe_endpoints(iot or _iot_client())
    except Exception as exc:  # CloudFormation must hear back, or the stack hangs for an hour
        log.exception("looking up the IoT endpoints failed")
        status, reason = "FAILED", f"DescribeEndpoint failed: {exc}"[:400]
    (respond or put_response)(event["ResponseURL"], response_body(event, status, data, reason))


def describe_endpoints(client: Any) -> dict[str, str]:
    """The ATS data endpoint (MQTT and the data-plane API) and the credentials provider."""
    return {
        "DataEndpoint": client.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"],
        "CredentialEndpoint": client.describe_endpoint(endpointType="iot:CredentialProvider")[
            "endpointAddress"
        ],
    }


def response_body(
    event: dict[str, Any], status: str, data: dict[str, str], reason: str
) -> dict[str, Any]:
    return {
        "Status": status,
        "Reason": reason or "see the function's CloudWatch logs",
        # One account and region has one pair of endpoints: a stable id means an update
        # never looks like a replacement to CloudFormation.
        "PhysicalResourceId": event.get("PhysicalResourceId") or "iot-endpoints",
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Data": data,
    }


def put_response(url: str, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    # The pre-signed S3 URL is signed for an empty Content-Type.
    headers = {"Content-Type": "", "Content-Length": str(len(payload))}
    request = urllib.request.Request(url, data=payload, method="PUT", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as answer:
        answer.read()
