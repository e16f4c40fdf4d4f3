"""The IoT data plane's publish call (``POST /topics/{topic}?qos=N``), onto the local broker.

The publish Lambda's boto3 ``iot-data`` client reaches it through the simulator's front,
signed with credentials the simulator issued to that Lambda alone (random per start); as in
AWS, a request without a valid Signature Version 4 by them is refused (403) and publishes
nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from sim.aws import sigv4

log = logging.getLogger(__name__)

SERVICE = "iotdata"  # the signing name of the iot-data client
PUBLISHER = "publish-lambda"

MqttPublish = Callable[[str, bytes, int], None]


def issue_credentials(store: sigv4.CredentialStore) -> sigv4.IssuedCredentials:
    """Fresh random credentials for the publish Lambda, the only caller the data plane takes
    (its execution role's, in AWS)."""
    return sigv4.issue_random(store, PUBLISHER)


class IotDataPlane:
    def __init__(
        self, mqtt_publish: MqttPublish, credentials: sigv4.CredentialStore, region: str
    ) -> None:
        self.mqtt_publish = mqtt_publish
        self.credentials = credentials
        self.region = region

    def publish(self, topic: str, request: sigv4.WireRequest) -> tuple[int, dict[str, Any]]:
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

    def _verify(self, request: sigv4.WireRequest) -> None:
        sigv4.verify_wire(self.credentials, SERVICE, self.region, request)


def boto3_client(endpoint_url: str, credentials: sigv4.IssuedCredentials, region: str) -> Any:
    """A boto3 ``iot-data`` client for this data plane at ``endpoint_url``: boto3's real
    request path, signed with ``credentials``."""
    return sigv4.boto3_client("iot-data", endpoint_url, credentials, region)
