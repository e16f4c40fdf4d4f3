#!/usr/bin/env python3
"""Stand-in for the KVS C SDK sample kvsWebrtcClientMasterGstSample (it cannot be built here).

Prints the sample's real log lines (kvsWebRTCClientMasterGstreamerSample.c and the SDK's
logger) and exits as it does. Its behaviour is chosen by the environment it is given:
STANDIN_MODE=stream (default) connects, two viewers come and one leaves, then it runs until
SIGINT (the only signal the sample handles) and exits 0; STANDIN_MODE=fail fails to connect
and exits 1 as the sample does. It also checks the variables the sample reads.
"""

import os
import signal
import sys
import time

REQUIRED = (
    "AWS_DEFAULT_REGION",
    "AWS_KVS_CACERT_PATH",
    "AWS_IOT_CORE_THING_NAME",
    "AWS_IOT_CORE_CREDENTIAL_ENDPOINT",
    "AWS_IOT_CORE_CERT",
    "AWS_IOT_CORE_PRIVATE_KEY",
    "AWS_IOT_CORE_ROLE_ALIAS",
)
interrupted = False


def on_sigint(signum, frame):
    global interrupted
    interrupted = True


signal.signal(signal.SIGINT, on_sigint)
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the sample handles SIGINT only
print("[KVS GStreamer Master] Using trickleICE by default")
missing = [name for name in REQUIRED if not os.environ.get(name)]
if missing:
    print(f"{missing[0]} must be set")
    sys.exit(1)
channel = os.environ["AWS_IOT_CORE_THING_NAME"]
print(f"[KVS GStreamer Master] Created signaling channel {channel}")
print("[KVS Gstreamer Master] Finished initializing GStreamer")
print("[KVS GStreamer Master] KVS WebRTC initialization completed successfully")
if os.environ.get("STANDIN_MODE") == "fail":
    print(
        "[KVS GStreamer Master] createSignalingClientSync(): operation returned status code: "
        "0x5d00000b "
    )
    print("[KVS GStreamer Master] Signaling client created successfully")
    print(
        "[KVS GStreamer Master] signalingClientConnectSync(): operation returned status "
        "code: 0x5d00000b "
    )
    print("[KVS GStreamer Master] Terminated with status code 0x5d00000b", end="")
    print("[KVS GStreamer Master] Cleaning up....")
    print("[KVS Gstreamer Master] Cleanup done")
    sys.exit(1)
print("[KVS GStreamer Master] Signaling client created successfully")
print("[KVS GStreamer Master] Signaling client connection to socket established")
print(f"[KVS Gstreamer Master] Beginning streaming...check the stream over channel {channel}")
sys.stdout.flush()
for state in (1, 2, 3, 1, 2, 3, 4, 6):
    time.sleep(0.05)
    print(
        f"2026-11-21 23:59:59.000 INFO    onConnectionStateChange(): New connection state {state}",
        flush=True,
    )
while not interrupted:
    time.sleep(0.05)
print("[KVS GStreamer Master] Streaming session terminated")
print("[KVS GStreamer Master] Cleaning up....")
print("[KVS Gstreamer Master] Cleanup done", flush=True)
