"""Points the AWS sample's MQTT client at the local broker: its script hard-codes port 443,
and this runs before it (Python imports ``sitecustomize`` at start-up). Only the port
changes; its client, settings and callbacks are its own."""

from __future__ import annotations

import os

if "STANDIN_BROKER_PORT" in os.environ:
    from AWSIoTPythonSDK.MQTTLib import AWSIoTMQTTClient

    _configure_endpoint = AWSIoTMQTTClient.configureEndpoint

    def _local_endpoint(self, host, port):  # type: ignore[no-untyped-def]
        return _configure_endpoint(self, host, int(os.environ["STANDIN_BROKER_PORT"]))

    AWSIoTMQTTClient.configureEndpoint = _local_endpoint
