"""The IoT data plane's publish call (``POST /topics/{topic}?qos=N``), onto the local broker.

The publish Lambda's boto3 ``iot-data`` client reaches it through the simulator's front,
signed with credentials the simulator issued to that Lambda alone; as in AWS, a request
without a valid Signature Version 4 by them is refused (403) and publishes nothing.
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

MqttPublish = Callable[[str, bytes, int], None]


class IotDataPlane:
    def __init__(
        self, mqtt_publish: MqttPublish, credentials: sigv4.Credentials, region: str
    ) -> None:
        self.mqtt_publish = mqtt_publish
        self.credentials = credentials
        self.region = region

    def publish(
        self, topic: str, query: str, request: sigv4.SignedRequest
    ) -> tuple[int, dict[str, Any]]:
        """Publish the request's body to ``topic``: the (status, body) the data plane answers."""
        try:
            sigv4.verify(request, self.credentials, self.region, SERVICE)
        except sigv4.SignatureError as exc:
            log.warning("refused an IoT data-plane request: %s", exc)
            return HTTPStatus.FORBIDDEN, {"message": f"Forbidden: {exc}"}
        qos = parse_qs(query).get("qos", ["0"])[0]
        if qos not in ("0", "1") or not topic:
            return HTTPStatus.BAD_REQUEST, {"message": "qos must be 0 or 1"}
        try:
            self.mqtt_publish(topic, request.body, int(qos))
        except Exception as exc:
            log.warning("publish to %s failed: %s", topic, exc)
            return HTTPStatus.SERVICE_UNAVAILABLE, {"message": "broker unavailable"}
        return HTTPStatus.OK, {}


def boto3_client(endpoint_url: str, credentials: sigv4.Credentials, region: str) -> Any:
    """A boto3 ``iot-data`` client for this data plane at ``endpoint_url``: boto3's real
    request path, signed with ``credentials``."""
    import boto3

    return boto3.client(
        "iot-data",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
    )
