"""Fixtures shared by all tests: the simulator's certificates and a running broker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sim.aws.certs import SimCerts, make_certs
from sim.aws.iot_core import Broker

THING_NAME = "testbot"


def pytest_configure(config: pytest.Config) -> None:
    # AWSIoTPythonSDK 1.6 builds its TLS context the deprecated way; nothing to act on here.
    config.addinivalue_line(
        "filterwarnings", "ignore:ssl.PROTOCOL_TLS is deprecated:DeprecationWarning"
    )


@pytest.fixture(scope="session")
def thing_name() -> str:
    return THING_NAME


@pytest.fixture(scope="session")
def sim_certs(tmp_path_factory: pytest.TempPathFactory, thing_name: str) -> SimCerts:
    return make_certs(tmp_path_factory.mktemp("certs") / "certs", thing_name)


@pytest.fixture(scope="session")
def broker(
    tmp_path_factory: pytest.TempPathFactory, sim_certs: SimCerts, thing_name: str
) -> Iterator[Broker]:
    """One mosquitto for the whole session; tests use distinct client ids and topics."""
    with Broker(tmp_path_factory.mktemp("broker"), sim_certs, thing_name) as running:
        yield running
