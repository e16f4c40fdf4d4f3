"""The IoT data plane's publish call (``POST /topics/{topic}?qos=N``), onto the local broker.

The publish Lambda's boto3 ``iot-data`` client reaches it through the simulator's front.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

log = logging.getLogger(__name__)

MqttPublish = Callable[[str, bytes, int], None]


class IotDataPlane:
    def __init__(self, mqtt_publish: MqttPublish) -> None:
        self.mqtt_publish = mqtt_publish

    def publish(self, topic: str, query: str, payload: bytes) -> tuple[int, dict[str, Any]]:
        """Publish ``payload`` to ``topic``: the (status, body) the data plane answers."""
        qos = parse_qs(query).get("qos", ["0"])[0]
        if qos not in ("0", "1") or not topic:
            return HTTPStatus.BAD_REQUEST, {"message": "qos must be 0 or 1"}
        try:
            self.mqtt_publish(topic, payload, int(qos))
        except Exception as exc:
            log.warning("publish to %s failed: %s", topic, exc)
            return HTTPStatus.SERVICE_UNAVAILABLE, {"message": "broker unavailable"}
        return HTTPStatus.OK, {}


def boto3_client(endpoint_url: str, region: str = "us-east-1") -> Any:
    """A boto3 ``iot-data`` client for this data plane at ``endpoint_url``: boto3's real
    request path, signed with the simulator's placeholder credentials."""
    import boto3

    return boto3.client(
        "iot-data",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id="sim",
        aws_secret_access_key="sim",
    )
