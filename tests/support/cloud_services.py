"""The simulator's cloud for one robot, as a process of its own (to run inside a network
namespace, tests/support/netns.py): the KVS signaling stand-in, the IoT credentials
provider and coturn, all on ``--host``, coturn relaying from ``--relay-host``.

    python -m tests.support.cloud_services --certs DIR --state DIR --thing NAME \\
        --host 198.18.0.1 --relay-host 198.18.0.2 --ttl 300

Prints one JSON line once everything is up: ``control_plane``, ``credential_endpoint``,
``turn`` (its URIs); then one ``{"ice_config": principal}`` line for each
``GetIceServerConfig`` it answers. Runs until its standard input closes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from sim.aws.certs import make_certs
from sim.aws.credentials_provider import CredentialsProvider
from sim.aws.kvs_signaling import MASTER_ACTIONS, VIEWER_ACTIONS, KvsSignalingService, Permissions
from sim.aws.sigv4 import CredentialStore
from sim.aws.turn import TurnServer

REGION = "us-east-1"
VIEWER_KEY = ("AKIDRELAYVIEWER", "relay-viewer-secret")  # the tests' viewers sign with it


def say(message: dict[str, Any]) -> None:
    print(json.dumps(message), flush=True)


async def serve(args: argparse.Namespace) -> None:
    certs = make_certs(args.certs, args.thing, server_addresses=(args.host,))
    store = CredentialStore()
    store.add_static(*VIEWER_KEY, "viewer", Permissions(VIEWER_ACTIONS))
    role_alias = f"{args.thing}-camera"
    grants = {role_alias: lambda thing: Permissions(MASTER_ACTIONS, thing)}
    with TurnServer(args.state, host=args.host, relay_host=args.relay_host, ttl_s=args.ttl) as turn:

        def ice_servers() -> list[dict[str, Any]]:
            say({"ice_config": turn.ttl_s})
            return [turn.ice_server()]

        async with (
            KvsSignalingService(
                store,
                certs.server,
                region=REGION,
                channels=[args.thing],
                host=args.host,
                ice_servers=ice_servers,
            ) as kvs,
            CredentialsProvider(
                store,
                grants,
                ca=certs.ca,
                server_cert=certs.server.cert,
                server_key=certs.server.key,
                host=args.host,
            ) as provider,
        ):
            say(
                {
                    "control_plane": kvs.url,
                    "credential_endpoint": provider.endpoint,
                    "role_alias": role_alias,
                    "turn": turn.uris,
                }
            )
            # Until the test closes our standard input.
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--certs", type=Path, required=True)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--thing", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--relay-host", required=True)
    parser.add_argument("--ttl", type=int, default=300)
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
