"""The simulator's TURN server: real coturn, checked with aioice's TURN client (the one the
producer's aiortc uses): a credential from GetIceServerConfig allocates a relay while it is
good, and is refused once its Ttl has passed, as KVS's are; and the stand-in hands out those
credentials."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from aioice import stun

from sim.aws.kvs_signaling import KvsSignalingService
from sim.aws.turn import TurnServer
from tests.sim_aws.conftest import ROBOT, ROBOT_KEYS, client
from tests.support.turn_client import allocate


@pytest.fixture
def turn(tmp_path: Path):
    with TurnServer(tmp_path / "turn", ttl_s=300) as server:
        yield server


def test_a_fresh_credential_allocates_a_relay_on_loopback(turn: TurnServer) -> None:
    server = turn.ice_server()
    assert server["Ttl"] == 300
    assert server["Uris"][0] == f"turn:127.0.0.1:{turn.port}?transport=udp"
    expires = int(server["Username"].split(":")[0])
    assert abs(expires - (time.time() + 300)) < 5, "the username is its expiry"
    relayed = asyncio.run(allocate(turn, server["Username"], server["Password"]))
    assert relayed[0] == "127.0.0.1" and relayed[1] > 0


def test_an_expired_or_forged_credential_is_refused(turn: TurnServer) -> None:
    turn.clock = lambda: time.time() - 301  # handed out 301 s ago: expired a second ago
    old = turn.ice_server()
    with pytest.raises(stun.TransactionFailed, match="401"):
        asyncio.run(allocate(turn, old["Username"], old["Password"]))
    turn.clock = time.time
    fresh = turn.ice_server()
    with pytest.raises(stun.TransactionFailed, match="401"):
        asyncio.run(allocate(turn, fresh["Username"], "bm90IHRoZSBwYXNzd29yZA=="))


def test_get_ice_server_config_hands_out_fresh_credentials(loop, store, certs, turn) -> None:
    kvs = loop.enter(
        KvsSignalingService(
            store, certs.server, channels=[ROBOT], ice_servers=lambda: [turn.ice_server()]
        )
    )
    kinesisvideo = client("kinesisvideo", kvs.url, ROBOT_KEYS)
    arn = kinesisvideo.describe_signaling_channel(ChannelName=ROBOT)["ChannelInfo"]["ChannelARN"]
    signaling = client("kinesis-video-signaling", kvs.url, ROBOT_KEYS)
    answer = signaling.get_ice_server_config(ChannelARN=arn, ClientId="x", Service="TURN")
    [server] = answer["IceServerList"]
    assert server["Uris"] == turn.uris and server["Ttl"] == 300
    asyncio.run(allocate(turn, server["Username"], server["Password"]))
