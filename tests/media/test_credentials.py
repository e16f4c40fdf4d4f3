"""The IoT credentials client against the simulator's credentials provider (mutual TLS)."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import pytest

from robot.producer.credentials import CredentialsError, CredentialsProvider
from sim.aws.certs import SimCerts, make_certs
from sim.aws.credentials_provider import CredentialsProvider as LocalProvider
from sim.aws.sigv4 import CredentialStore

THING = "camerabot"
ALIAS = "camerabot-camera"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> SimCerts:
    return make_certs(tmp_path_factory.mktemp("credential-certs"), THING)


@asynccontextmanager
async def provider(
    certs: SimCerts, lifetime: datetime.timedelta
) -> AsyncIterator[tuple[CredentialsProvider, CredentialStore]]:
    store = CredentialStore()
    local = LocalProvider(
        store,
        {ALIAS: lambda thing: None},
        ca=certs.ca,
        server_cert=certs.server.cert,
        server_key=certs.server.key,
        duration=lifetime,
    )
    async with local:
        yield (
            CredentialsProvider(
                f"localhost:{local.port}", ALIAS, THING, certs.robot.cert, certs.robot.key, certs.ca
            ),
            store,
        )


async def test_credentials_are_issued_for_the_things_certificate(certs: SimCerts) -> None:
    async with provider(certs, datetime.timedelta(hours=1)) as (client, store):
        credentials = await asyncio.to_thread(client.credentials)
        frozen = await asyncio.to_thread(credentials.get_frozen_credentials)
        now = datetime.datetime.now(datetime.UTC)
        issued = store.lookup(frozen.access_key, frozen.token, now)
    assert issued.principal == f"{ALIAS}/{THING}"
    assert frozen.secret_key == issued.secret_access_key and frozen.token


async def test_credentials_about_to_expire_are_fetched_again(certs: SimCerts) -> None:
    # botocore renews credentials with less than 15 minutes left; these have 10.
    async with provider(certs, datetime.timedelta(minutes=10)) as (client, _):
        credentials = await asyncio.to_thread(client.credentials)
        first = await asyncio.to_thread(lambda: credentials.get_frozen_credentials().access_key)
        second = await asyncio.to_thread(lambda: credentials.get_frozen_credentials().access_key)
    assert first != second


@pytest.mark.parametrize(
    ("change", "answer"),
    [
        ({"thing_name": "someone-else"}, "answered 403"),
        ({"role_alias": "no-such-alias"}, "answered 404"),
    ],
)
async def test_a_refusal_is_an_error_naming_the_answer(
    certs: SimCerts, change: dict, answer: str
) -> None:
    async with provider(certs, datetime.timedelta(hours=1)) as (client, _):
        with pytest.raises(CredentialsError, match=answer):
            await asyncio.to_thread(replace(client, **change).fetch)


async def test_a_certificate_from_another_ca_is_refused(
    certs: SimCerts, tmp_path_factory: pytest.TempPathFactory
) -> None:
    stranger = make_certs(tmp_path_factory.mktemp("stranger"), THING)
    async with provider(certs, datetime.timedelta(hours=1)) as (client, _):
        foreign = replace(client, certificate=stranger.robot.cert, private_key=stranger.robot.key)
        with pytest.raises(CredentialsError, match="no credentials from"):
            await asyncio.to_thread(foreign.fetch)
