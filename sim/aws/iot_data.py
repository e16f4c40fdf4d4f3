"""The IoT data plane's publish call (``POST /topics/{topic}?qos=N``), onto the local broker.

The publish Lambda's boto3 ``iot-data`` client reaches it through the simulator's front,
signed with credentials the simulator issued to that Lambda alone (random per start); as in
AWS, a request without a valid Signature Version 4 by them is refused (403) and publishes
nothing.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from sim.aws import sigv4

log = logging.getLogger(__name__)

SERVICE = "iotdata"  # the signing name of the iot-data client
PUBLISHER = "publish-lambda"

MqttPublish = Callable[[str, bytes, int], None]


@dataclass(frozen=True)
class Request:
    """A data-plane request as it came over the wire: the path and query still encoded."""

    method: str
    host: str
    raw_path: str
    raw_query: str
    headers: Mapping[str, str]
    body: bytes


def issue_credentials(store: sigv4.CredentialStore) -> sigv4.IssuedCredentials:
    """Fresh random credentials for the publish Lambda, the only caller the data plane takes
    (its execution role's, in AWS)."""
    return store.add_static(
        "AKIA" + secrets.token_hex(8).upper(),
        base64.b64encode(secrets.token_bytes(30)).decode(),
        PUBLISHER,
    )


class IotDataPlane:
    def __init__(
        self, mqtt_publish: MqttPublish, credentials: sigv4.CredentialStore, region: str
    ) -> None:
        self.mqtt_publish = mqtt_publish
        self.credentials = credentials
        self.region = region

    def publish(self, topic: str, request: Request) -> tuple[int, dict[str, Any]]:
        """Publish the request's body to ``topic``: the (status, body) the data plane answers."""
        try:
            self._verify(request)
        except sigv4.SignatureError as exc:
            log.warning("refused an IoT data-plane request: %s", exc)
            return exc.status, {"message": f"Forbidden: {exc}"}
        qos = parse_qs(request.raw_query).get("qos", ["0"])[0]
        if qos not in ("0", "1") or not topic:
            return HTTPStatus.BAD_REQUEST, {"message": "qos must be 0 or 1"}
        try:
            self.mqtt_publish(topic, request.body, int(qos))
        except Exception as exc:
            log.warning("publish to %s failed: %s", topic, exc)
            return HTTPStatus.SERVICE_UNAVAILABLE, {"message": "broker unavailable"}
        return HTTPStatus.OK, {}

    def _verify(self, request: Request) -> None:
        verified = sigv4.verify_request(
            self.credentials,
            SERVICE,
            request.method,
            request.host,
            request.raw_path,
            request.raw_query,
            request.headers,
            request.body,
        )
        if verified.region != self.region:
            raise sigv4.SignatureError("InvalidSignatureException", f"not for {self.region}")
        # A signed payload hash stands for the body in the signature: it must be this body's.
        declared = {k.lower(): v for k, v in request.headers.items()}.get("x-amz-content-sha256")
        if declared is not None and declared != hashlib.sha256(request.body).hexdigest():
            raise sigv4.SignatureError("InvalidSignatureException", "the body was not signed")


def boto3_client(endpoint_url: str, credentials: sigv4.IssuedCredentials, region: str) -> Any:
    """A boto3 ``iot-data`` client for this data plane at ``endpoint_url``: boto3's real
    request path, signed with ``credentials``."""
    import boto3

    return boto3.client(
        "iot-data",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        aws_session_token=credentials.session_token,
    )
