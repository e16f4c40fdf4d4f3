from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.browser import chromium
from tests.support.stack import RecordingStack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingStack]:
    """The whole simulated stack on free ports, as `robot sim` runs it."""
    with RecordingStack(tmp_path_factory.mktemp("sim"), port=0) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as running:
        yield running


@pytest.fixture
def pages(browser: Any) -> Iterator[list[Any]]:
    """Pages a test opens, closed after it (each holds a viewer of the robot's camera)."""
    opened: list[Any] = []
    yield opened
    for page in opened:
        page.close()
